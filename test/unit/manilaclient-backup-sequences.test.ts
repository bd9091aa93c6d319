// Issue 20: the requests the newest python-manilaclient (openstack/python-manilaclient at 569b82f) sends
// for `openstack share backup …` at microversion 2.91, replayed one by one against the API handler,
// each answer checked for what the client reads next. Sources:
// - manilaclient/osc/v2/share_backups.py: the commands (CreateShareBackup, ListShareBackup, …).take_action
// - manilaclient/v2/share_backups.py ShareBackupManager: URLs and bodies; restore at 2.91 is
//   _action('restore', backup_id, info=target_share_id), i.e. {"restore": <target id or None>}
// - osc_lib/utils find_resource (openstack/osc-lib): manager.get(name_or_id) first; on any error,
//   manager.find(name=name_or_id)
// - manilaclient/base.py ManagerWithFind.findall: list(search_opts={'all_tenants': 1}); for shares at
//   ≥ 2.69 a second list with is_soft_deleted=True, merged; _build_query_string sorts the parameters
//   and drops empty ones
// - manilaclient/v2/shares.py ShareManager.do_list: adds is_public=True when absent; GET /shares/detail
// - manilaclient/common/httpclient.py HTTPClient.request: default headers
//   X-Openstack-Manila-Api-Version and Accept, Content-Type: application/json when there is a body;
//   manilaclient/api_versions.py experimental_api adds X-OpenStack-Manila-API-Experimental: true to the
//   client's default headers on the first backup call, so every later request carries it too.
// The endpoint is the catalog's …/v2/<project_id>. X-Auth-Token is left out: the API Gateway's JWT
// authorizer turns the token into the claims these tests pass.
import { describe, expect, it } from 'vitest';
import { ADMIN, apiFixture, type Answer } from './helpers/manila-api.ts';

type Fixture = ReturnType<typeof apiFixture>;

interface ClientRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** path after the endpoint, as the manager builds it, with its query string */
  url: string;
  body?: unknown;
}

/** one manilaclient process: its default headers, the experimental one set on the first backup call */
function manilaclient(f: Fixture) {
  const sent: { method: string; path: string; query: string; headers: Record<string, string>; body?: string }[] = [];
  let experimental = false;
  const send = async (req: ClientRequest, backupCall: boolean): Promise<Answer> => {
    if (backupCall) experimental = true;
    const [pathPart, queryPart = ''] = req.url.split('?') as [string, string?];
    const headers: Record<string, string> = {
      'x-openstack-manila-api-version': '2.91',
      accept: 'application/json',
      'user-agent': 'python-manilaclient',
      ...(experimental ? { 'x-openstack-manila-api-experimental': 'true' } : {}),
      ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    const path = `/v2/alpha${pathPart}`;
    sent.push({ method: req.method, path, query: queryPart, headers, ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}) });
    const query = queryPart === '' ? undefined : Object.fromEntries(new URLSearchParams(queryPart));
    return f.call(req.method, path, { version: '2.91', headers, body: req.body, ...(query ? { query } : {}) });
  };
  // osc_lib find_resource(share_client.share_backups, name): ShareBackupManager.get, then find → findall → list(detailed=True)
  const findBackup = async (name: string) => {
    const byId = await send({ method: 'GET', url: `/share-backups/${encodeURIComponent(name)}` }, true);
    expect(byId.status).toBe(404); // any error falls through to find(); a 404 is what Manila answers
    const listed = await send({ method: 'GET', url: '/share-backups/detail?all_tenants=1' }, true);
    expect(listed.status).toBe(200);
    const matches = (listed.json.share_backups as (Record<string, unknown> & { id: string; name: string; share_id: string })[]).filter((b) => b.name === name);
    expect(matches).toHaveLength(1); // find(): 0 is NotFound, more is NoUniqueMatch
    return matches[0] as Record<string, unknown> & { id: string; share_id: string };
  };
  // osc_lib find_resource(share_client.shares, name): ShareManager.get, then findall with the soft-deleted merge (≥ 2.69)
  const findShare = async (name: string) => {
    expect((await send({ method: 'GET', url: `/shares/${encodeURIComponent(name)}` }, false)).status).toBe(404);
    const live = await send({ method: 'GET', url: '/shares/detail?all_tenants=1&is_public=True' }, false);
    const soft = await send({ method: 'GET', url: '/shares/detail?all_tenants=1&is_public=True&is_soft_deleted=True' }, false);
    expect([live.status, soft.status]).toEqual([200, 200]);
    const matches = [...live.json.shares, ...soft.json.shares].filter((s: { name: string }) => s.name === name);
    expect(matches).toHaveLength(1);
    return matches[0] as { id: string; name: string };
  };
  return { send, sent, findBackup, findShare };
}

/** the backup and restore workflows, finished successfully */
async function finishRestore(f: Fixture, backupId: string, shareId: string) {
  await f.repository.updateBackup(backupId, { set: { status: 'available', restore_progress: '100' } });
  await f.repository.updateShare(shareId, { set: { status: 'available' }, remove: ['active_restore_id'] });
}

const DETAIL_COLUMNS = ['id', 'name', 'share_id', 'status', 'description', 'size', 'created_at', 'updated_at', 'availability_zone', 'progress', 'restore_progress'];

describe('openstack share backup … at 2.91, request by request', () => {
  it('create, list, show, set, unset, restore (in place and --target-share), delete', async () => {
    const f = apiFixture();
    const source = await f.createShare({ name: 'src' });
    const target = await f.createShare({ name: 'dst' });

    // manilaclient/osc/v2/share_backups.py CreateShareBackup.take_action: `share backup create src --name b`
    // (the current client has no --wait on create: the functional tests poll `share backup show`)
    {
      const c = manilaclient(f);
      const share = await c.findShare('src');
      expect(share.id).toBe(source.id);
      // ShareBackupManager.create: every key of the body, None ones as null
      const res = await c.send({ method: 'POST', url: '/share-backups', body: { share_backup: { share_id: source.id, backup_options: null, description: null, name: 'b' } } }, true);
      expect(res.status).toBe(202);
      // _create reads body['share_backup']; the command prints its keys (links popped)
      expect(res.json.share_backup).toMatchObject({ name: 'b', share_id: source.id, status: 'creating', description: null });
      expect(res.headers['x-openstack-manila-api-version'] ?? res.headers['X-OpenStack-Manila-API-Version']).toBe('2.91');
      expect(c.sent.map((r) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ''}`)).toEqual([
        `GET /v2/alpha/shares/src`,
        'GET /v2/alpha/shares/detail?all_tenants=1&is_public=True',
        'GET /v2/alpha/shares/detail?all_tenants=1&is_public=True&is_soft_deleted=True',
        'POST /v2/alpha/share-backups',
      ]);
      expect(c.sent[0]!.headers).not.toHaveProperty('x-openstack-manila-api-experimental');
      expect(c.sent[3]!.headers).toMatchObject({ 'x-openstack-manila-api-experimental': 'true', 'content-type': 'application/json', 'x-openstack-manila-api-version': '2.91' });
      await f.completeBackup(res.json.share_backup.id);
    }

    // ListShareBackup.take_action: `share backup list` — every search option None, so no query; detailed=0
    {
      const c = manilaclient(f);
      const res = await c.send({ method: 'GET', url: '/share-backups' }, true);
      expect(res.status).toBe(200);
      // columns ['ID', 'Name', 'Share ID', 'Status'] read by get_item_properties
      expect(res.json.share_backups).toEqual([{ id: expect.any(String), name: 'b', share_id: source.id, status: 'available' }]);
      // `--detail` lists /share-backups/detail and reads the detail columns (Host/Topic only for admins: blank)
      const detail = await c.send({ method: 'GET', url: '/share-backups/detail' }, true);
      for (const key of DETAIL_COLUMNS) expect(detail.json.share_backups[0]).toHaveProperty(key);
    }

    // ShowShareBackup.take_action: `share backup show b` — find_resource only; the list's item is what it prints
    let backupId: string;
    {
      const c = manilaclient(f);
      const backup = await c.findBackup('b');
      backupId = backup.id;
      for (const key of [...DETAIL_COLUMNS, 'backup_type']) expect(backup).toHaveProperty(key);
      expect(c.sent.every((r) => r.headers['x-openstack-manila-api-experimental'] === 'true')).toBe(true);
      expect(c.sent.map((r) => `${r.method} ${r.path}?${r.query}`)).toEqual(['GET /v2/alpha/share-backups/b?', 'GET /v2/alpha/share-backups/detail?all_tenants=1']);
    }

    // SetShareBackup.take_action: `share backup set b --name x --description y` → ShareBackupManager.update
    {
      const c = manilaclient(f);
      const backup = await c.findBackup('b');
      const res = await c.send({ method: 'PUT', url: `/share-backups/${backup.id}`, body: { share_backup: { name: 'x', description: 'y' } } }, true);
      expect(res.status).toBe(200);
      // _update(url, body) without a response key wraps the whole body: it must be a non-empty object
      expect(res.json.share_backup).toMatchObject({ id: backupId, name: 'x', description: 'y' });
    }

    // UnsetShareBackup.take_action: `share backup unset x --name --description` → update(name=None, description=None)
    {
      const c = manilaclient(f);
      const backup = await c.findBackup('x');
      const res = await c.send({ method: 'PUT', url: `/share-backups/${backup.id}`, body: { share_backup: { name: null, description: null } } }, true);
      expect(res.status).toBe(200);
      expect(res.json.share_backup).toMatchObject({ id: backupId, name: null, description: null });
      // give it a name again for the commands below
      await c.send({ method: 'PUT', url: `/share-backups/${backupId}`, body: { share_backup: { name: 'b' } } }, true);
    }

    // RestoreShareBackup.take_action: `share backup restore b` (in place): restore(share_backup.id) with no
    // target → ShareBackupManager.restore (2.91) → _action('restore', id, info=None) → {"restore": null}
    {
      const c = manilaclient(f);
      const backup = await c.findBackup('b');
      const res = await c.send({ method: 'POST', url: `/share-backups/${backup.id}/action`, body: { restore: null } }, true);
      expect(res.status).toBe(202);
      expect(res.json.restore).toMatchObject({ backup_id: backupId, share_id: source.id });
      // --wait polls shares.get(share_backup.share_id) until available/error/backup_restoring_error
      const share = await c.send({ method: 'GET', url: `/shares/${backup.share_id}` }, false);
      expect(share.status).toBe(200);
      expect(share.json.share.status).toBe('backup_restoring');
      await finishRestore(f, backupId, source.id);
      expect((await c.send({ method: 'GET', url: `/shares/${backup.share_id}` }, false)).json.share.status).toBe('available');
    }

    // RestoreShareBackup.take_action: `share backup restore b --target-share dst` (2.91: find the share,
    // kwargs['target_share_id']) → {"restore": "<dst id>"}
    {
      const c = manilaclient(f);
      const backup = await c.findBackup('b');
      const share = await c.findShare('dst');
      const res = await c.send({ method: 'POST', url: `/share-backups/${backup.id}/action`, body: { restore: share.id } }, true);
      expect(res.status).toBe(202);
      expect(res.json.restore).toMatchObject({ backup_id: backupId, share_id: target.id });
      expect(c.sent.map((r) => r.method + ' ' + r.path)).toEqual([
        `GET /v2/alpha/share-backups/b`, 'GET /v2/alpha/share-backups/detail',
        'GET /v2/alpha/shares/dst', 'GET /v2/alpha/shares/detail', 'GET /v2/alpha/shares/detail',
        `POST /v2/alpha/share-backups/${backupId}/action`,
      ]);
      expect(c.sent.at(-1)!.body).toBe(JSON.stringify({ restore: target.id }));
      // --wait polls the target share
      expect((await c.send({ method: 'GET', url: `/shares/${target.id}` }, false)).json.share.status).toBe('backup_restoring');
      await finishRestore(f, backupId, target.id);
    }

    // DeleteShareBackup.take_action: `share backup delete b` → ShareBackupManager.delete; --wait would poll get until 404
    {
      const c = manilaclient(f);
      const backup = await c.findBackup('b');
      const res = await c.send({ method: 'DELETE', url: `/share-backups/${backup.id}` }, true);
      expect(res.status).toBe(202);
      expect((await c.send({ method: 'GET', url: `/share-backups/${backup.id}` }, true)).status).toBe(404);
    }
  });

  // ListShareBackup.take_action with every filter: `share backup list --share src --name b --status available
  // --limit 1 --offset 0 --name~ b --description~ NIGHT --sort-key name --sort-dir asc`; ShareBackupManager.list
  // sends the sorted, non-empty search options (offset is the string "0", which Python keeps)
  it('share backup list with its filters and each sort key the client allows (constants.BACKUP_SORT_KEY_VALUES)', async () => {
    const f = apiFixture();
    const source = await f.createShare({ name: 'src' });
    const c = manilaclient(f);
    const created = await c.send({ method: 'POST', url: '/share-backups', body: { share_backup: { share_id: source.id, backup_options: null, description: 'nightly', name: 'b' } } }, true);
    await f.completeBackup(created.json.share_backup.id);
    const share = await c.findShare('src');
    const res = await c.send({ method: 'GET', url: `/share-backups?description~=NIGHT&limit=1&name=b&name~=b&offset=0&share_id=${share.id}&sort_dir=asc&sort_key=name&status=available` }, true);
    expect(res.status).toBe(200);
    expect(res.json.share_backups.map((b: { name: string }) => b.name)).toEqual(['b']);
    const statuses: Record<string, number> = {};
    for (const key of ['id', 'status', 'size', 'share_id', 'progress', 'restore_progress', 'name', 'host', 'topic', 'project_id']) {
      statuses[key] = (await c.send({ method: 'GET', url: `/share-backups/detail?sort_key=${key}` }, true)).status;
    }
    expect(statuses).toEqual({ id: 200, status: 200, size: 200, share_id: 200, progress: 200, restore_progress: 200, name: 200, host: 200, topic: 200, project_id: 200 });
  });

  // DeleteShareBackup.take_action with --wait: osc_lib wait_for_delete polls manager.get(id) until NotFound;
  // RestoreShareBackup below 2.91 (ShareBackupManager.restore wrapped 2.80–2.90): _action('restore', id) → {"restore": null}
  it('restore at 2.80 ({"restore": null}) and delete --wait', async () => {
    const f = apiFixture();
    const source = await f.createShare({ name: 'src' });
    const c = manilaclient(f);
    const created = await c.send({ method: 'POST', url: '/share-backups', body: { share_backup: { share_id: source.id, backup_options: null, description: null, name: 'b' } } }, true);
    const id = created.json.share_backup.id as string;
    await f.completeBackup(id);
    const old = await f.call('POST', `/v2/alpha/share-backups/${id}/action`, { version: '2.80', headers: { 'x-openstack-manila-api-experimental': 'true', 'content-type': 'application/json' }, body: { restore: null } });
    expect(old.status).toBe(202);
    expect(old.json.restore.share_id).toBe(source.id);
    await finishRestore(f, id, source.id);
    expect((await c.send({ method: 'DELETE', url: `/share-backups/${id}` }, true)).status).toBe(202);
    const polled = await c.send({ method: 'GET', url: `/share-backups/${id}` }, true);
    expect(polled.status).toBe(404);
    expect(polled.json.itemNotFound.code).toBe(404);
  });

  // RestoreShareBackup.take_action: --target-share below 2.91 is a CommandError before any request; a raw
  // {"restore": "<id>"} at 2.90 restores onto the source share (Manila ignores the value there; docs/api-reference.md "Restore")
  // ListShareBackup.take_action --detail as an admin: the Host and Topic columns are filled
  it('a target below 2.91 is ignored; an admin\'s detail list has host and topic', async () => {
    const f = apiFixture();
    const source = await f.createShare({ name: 'src' });
    const other = await f.createShare({ name: 'dst' });
    const c = manilaclient(f);
    const created = await c.send({ method: 'POST', url: '/share-backups', body: { share_backup: { share_id: source.id, backup_options: null, description: null, name: 'b' } } }, true);
    const id = created.json.share_backup.id as string;
    await f.completeBackup(id);
    const res = await f.call('POST', `/v2/alpha/share-backups/${id}/action`, { version: '2.90', headers: { 'x-openstack-manila-api-experimental': 'true' }, body: { restore: other.id } });
    expect(res.status).toBe(202);
    expect(res.json.restore.share_id).toBe(source.id);
    const admin = await f.call('GET', '/v2/admin/share-backups/detail', { claims: ADMIN, version: '2.91', query: { all_tenants: '1' } });
    expect(admin.status).toBe(200);
    expect(admin.json.share_backups[0]).toHaveProperty('host');
    expect(admin.json.share_backups[0]).toHaveProperty('topic');
    const member = await c.send({ method: 'GET', url: '/share-backups/detail' }, true);
    expect(member.json.share_backups[0]).not.toHaveProperty('host');
  });
});

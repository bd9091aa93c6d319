// Admin: the shares and backups of every project (all_tenants), and status resets.
import { useState } from 'preact/hooks';
import { BACKUP_RESET_STATUSES, SHARE_STATUSES } from '../../../functions/domain/records.ts';
import type { PageProps } from '../app.tsx';
import { listPage, type Share, type ShareBackup } from '../api/client.ts';
import { BACKUP_STATUS_MEANING, SHARE_STATUS_MEANING } from '../format.ts';
import { Confirm, ErrorMessage, Pager, Status, TableWrap } from '../ui.tsx';
import { usePaged } from './shares.tsx';

const LIMIT = 20;
// the statuses the API accepts in reset_status, from the API's own records module
const SHARE_RESET: readonly string[] = SHARE_STATUSES;
const BACKUP_RESET: readonly string[] = BACKUP_RESET_STATUSES;

type Reset = { kind: 'share'; item: Share } | { kind: 'backup'; item: ShareBackup };

export function AdminPage({ api }: PageProps) {
  const shares = usePaged<Share>(
    (offset) => listPage<Share>(api, '/v2/shares/detail', 'shares', { all_tenants: 1, limit: LIMIT, offset, sort_key: 'created_at', sort_dir: 'desc' }),
    () => false, [api],
  );
  const backups = usePaged<ShareBackup>(
    (offset) => listPage<ShareBackup>(api, '/v2/share-backups/detail', 'share_backups', { all_tenants: 1, limit: LIMIT, offset, sort_key: 'created_at', sort_dir: 'desc' }),
    () => false, [api],
  );
  const [reset, setReset] = useState<Reset>();
  const close = () => { setReset(undefined); shares.reload(); backups.reload(); };
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Admin: every project</h1>
      <h2>Shares</h2>
      <ErrorMessage error={shares.error} />
      <TableWrap label="Shares of every project">
        <table>
          <thead><tr><th scope="col">Share</th><th scope="col">Project</th><th scope="col">Status</th><th scope="col">Action</th></tr></thead>
          <tbody>
            {(shares.page?.items ?? []).map((s) => (
              <tr key={s.id} data-share-id={s.id}>
                <th scope="row">{s.name || '(no name)'}<div class="id">{s.id}</div></th>
                <td>{s.project_id}</td>
                <td><Status status={s.status} meaning={SHARE_STATUS_MEANING} /></td>
                <td><button type="button" class="small" onClick={() => setReset({ kind: 'share', item: s })}>Reset status<span class="sr-only"> of share {s.name || s.id}</span></button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <Pager label="Shares of every project" offset={shares.offset} limit={LIMIT} hasNext={shares.page?.hasNext ?? false} onChange={shares.setOffset} />
      <h2>Backups</h2>
      <ErrorMessage error={backups.error} />
      <TableWrap label="Backups of every project">
        <table>
          <thead><tr><th scope="col">Backup</th><th scope="col">Share</th><th scope="col">Status</th><th scope="col">Action</th></tr></thead>
          <tbody>
            {(backups.page?.items ?? []).map((b) => (
              <tr key={b.id} data-backup-id={b.id}>
                <th scope="row">{b.name || '(no name)'}<div class="id">{b.id}</div></th>
                <td>{b.share_id}</td>
                <td><Status status={b.status} meaning={BACKUP_STATUS_MEANING} /></td>
                <td><button type="button" class="small" onClick={() => setReset({ kind: 'backup', item: b })}>Reset status<span class="sr-only"> of backup {b.name || b.id}</span></button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <Pager label="Backups of every project" offset={backups.offset} limit={LIMIT} hasNext={backups.page?.hasNext ?? false} onChange={backups.setOffset} />
      {reset ? <ResetStatus api={api} reset={reset} onClose={close} /> : null}
    </section>
  );
}

function ResetStatus(props: { api: PageProps['api']; reset: Reset; onClose: () => void }) {
  const { kind, item } = props.reset;
  const options = kind === 'share' ? SHARE_RESET : BACKUP_RESET;
  const [status, setStatus] = useState(options.find((o) => o !== item.status) ?? 'available');
  const path = kind === 'share' ? `/v2/shares/${item.id}/action` : `/v2/share-backups/${item.id}/action`;
  return (
    <Confirm title={`Reset ${kind} status`} confirmLabel="Reset status" danger onClose={props.onClose}
      onConfirm={() => props.api.call('POST', path, { reset_status: { status } })}>
      <p>
        Set the status of {kind} <strong>{item.name || item.id}</strong> from <strong>{item.status}</strong> to the one chosen below. The service
        does not check that the {kind} really is in that state.
      </p>
      <label for="reset-status">New status</label>
      <select id="reset-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
        {options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    </Confirm>
  );
}

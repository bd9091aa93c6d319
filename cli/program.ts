// The `share` command line: python-manilaclient's `openstack share ...` commands for this service
// (shares, share backups, restores onto the source or another share, restore records).
import { Command, Option } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { ApiError, CliError, createClient, DEFAULT_ENDPOINT, MAX_API_VERSION, type ShareClient } from './client.ts';
import { FORMATS, renderList, renderRecord, type Column, type Display, type Format, type OutputOptions } from './output.ts';
import { BACKUP, findResource, SHARE, type ApiRecord } from './resolve.ts';
import { waitUntilSettled, type Outcome, type ProgressSample, type WaitSpec } from './wait.ts';

/** Microversion that brought share backups (Manila 2.80) and targeted restores (2.91). */
const BACKUPS_VERSION = '2.80';
const TARGETED_RESTORE_VERSION = '2.91';

const SHARE_TRANSIENT = ['creating', 'deleting', 'extending', 'shrinking', 'backup_creating', 'backup_restoring'];
const SHARE_ERRORS = ['error', 'error_deleting', 'backup_restoring_error'];
const BACKUP_TRANSIENT = ['creating', 'restoring', 'deleting'];
const BACKUP_ERRORS = ['error', 'error_deleting'];

interface GlobalOptions {
  osEndpoint: string;
  osToken?: string;
  osShareApiVersion: string;
}

interface FormatOptions {
  format: Format;
  column?: string[];
}

export interface ProgramIo {
  stdout: (text: string) => void;
  /** notes beside the result (the warnings line after --wait); default: process.stderr */
  stderr?: (text: string) => void;
  /** poll interval of --wait */
  pollIntervalMs?: number;
}

function clientOf(command: Command): ShareClient {
  const options = command.optsWithGlobals<GlobalOptions>();
  return createClient({ endpoint: options.osEndpoint, token: options.osToken, apiVersion: options.osShareApiVersion });
}

function outputOf(options: FormatOptions): OutputOptions {
  return { format: options.format, columns: options.column ?? [] };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function withOutput(command: Command): Command {
  return command
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('table'))
    .option('-c, --column <column>', 'show only this column (repeatable)', collect);
}

function withExamples(command: Command, ...examples: string[]): Command {
  return command.addHelpText('after', `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

function positiveSize(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new CliError(`Invalid ${what} '${text}': expected a whole number of GiB, at least 1.`);
  return Number(text);
}

function nonNegative(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new CliError(`Invalid ${what} '${text}': expected a whole number, 0 or more.`);
  return Number(text);
}

function query(params: Record<string, string | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

/** Reads a record, or null once it is gone (a delete that finished). */
async function readOrGone(client: ShareClient, path: string, key: string): Promise<ApiRecord | null> {
  try {
    return (await client.request<Record<string, ApiRecord>>('GET', path))[key]!;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

const exportPaths: Display = (value) =>
  Array.isArray(value) ? value.map((l) => String((l as { path?: unknown }).path ?? '')).join('\n') : '';
const SHARE_DISPLAYS: Record<string, Display> = { export_locations: exportPaths };

// ---- progress of operations -------------------------------------------------------------------

function restorePercent(restore: ApiRecord): number {
  if (restore.status === 'succeeded' || restore.phase === 'done') return 100;
  const [done, total] = Number(restore.bytes_total) > 0
    ? [Number(restore.bytes_done), Number(restore.bytes_total)]
    : [Number(restore.files_done), Number(restore.files_total)];
  return total > 0 ? Math.min(99, Math.floor((done * 100) / total)) : 0;
}

function restoreSample(restore: ApiRecord): ProgressSample {
  return {
    percent: restorePercent(restore),
    phase: String(restore.phase ?? restore.status),
    filesDone: Number(restore.files_done ?? 0),
    filesTotal: Number(restore.files_total ?? 0),
    bytesDone: Number(restore.bytes_done ?? 0),
    bytesTotal: Number(restore.bytes_total ?? 0),
    etaSeconds: restore.eta_seconds as number | null,
  };
}

function restoreWait(client: ShareClient, restoreId: string): WaitSpec<ApiRecord> {
  return {
    label: `restore ${restoreId}`,
    resumeCommand: `share restore show ${restoreId} --wait`,
    read: async () => (await client.request<{ share_restore: ApiRecord }>('GET', `/share-restores/${restoreId}`)).share_restore,
    sample: restoreSample,
    outcome: (r): Outcome =>
      r.status === 'succeeded' ? { state: 'succeeded' }
      : r.status === 'failed' ? { state: 'failed', reason: String(r.fail_reason ?? 'no reason recorded') }
      : { state: 'running' },
  };
}

interface WatchedShare {
  share: ApiRecord;
  /** the newest restore into the share while one is writing to it */
  restore?: ApiRecord;
}

function shareWait(client: ShareClient, shareId: string): WaitSpec<WatchedShare> {
  return {
    label: `share ${shareId}`,
    resumeCommand: `share show ${shareId} --wait`,
    read: async () => {
      const share = (await client.request<{ share: ApiRecord }>('GET', `/shares/${shareId}`)).share;
      if (share.status !== 'backup_restoring' && !(share.status === 'creating' && share.source_backup_id) && !SHARE_ERRORS.includes(String(share.status))) {
        return { share };
      }
      const list = await client.request<{ share_restores: ApiRecord[] }>('GET', `/share-restores${query({ share_id: shareId, limit: '1' })}`);
      return { share, restore: list.share_restores[0] };
    },
    sample: ({ share, restore }) =>
      restore && share.status !== 'available' ? restoreSample(restore) : { percent: SHARE_TRANSIENT.includes(String(share.status)) ? 0 : 100, phase: String(share.status) },
    outcome: ({ share, restore }): Outcome => {
      const status = String(share.status);
      if (SHARE_TRANSIENT.includes(status)) return { state: 'running' };
      if (SHARE_ERRORS.includes(status)) {
        const why = restore?.fail_reason ? `: ${String(restore.fail_reason)}` : '';
        return { state: 'failed', reason: `the share is in status ${status}${why}` };
      }
      return { state: 'succeeded' };
    },
  };
}

function backupWait(client: ShareClient, backupId: string): WaitSpec<ApiRecord> {
  return {
    label: `backup ${backupId}`,
    resumeCommand: `share backup show ${backupId} --wait`,
    read: async () => (await client.request<{ share_backup: ApiRecord }>('GET', `/share-backups/${backupId}`)).share_backup,
    sample: (b) => ({ percent: Number(b.status === 'restoring' ? b.restore_progress : b.progress) || 0, phase: String(b.status) }),
    outcome: (b): Outcome => {
      const status = String(b.status);
      if (BACKUP_TRANSIENT.includes(status)) return { state: 'running' };
      if (BACKUP_ERRORS.includes(status)) return { state: 'failed', reason: `the backup is in status ${status}` };
      return { state: 'succeeded' };
    },
  };
}

function deletionWait(client: ShareClient, noun: string, path: string, key: string, errorStatus: string): WaitSpec<ApiRecord | null> {
  const id = path.split('/').pop()!;
  return {
    label: `${noun} ${id}`,
    resumeCommand: `share ${noun === 'backup' ? 'backup ' : ''}show ${id}`,
    read: () => readOrGone(client, path, key),
    sample: (r) => ({ percent: r === null ? 100 : 0, phase: r === null ? 'deleted' : String(r.status) }),
    outcome: (r): Outcome =>
      r === null ? { state: 'succeeded' }
      : r.status === errorStatus ? { state: 'failed', reason: `the ${noun} is in status ${errorStatus}` }
      : { state: 'running' },
  };
}

// ---- reports -----------------------------------------------------------------------------------

/**
 * The line a --wait ends with: how many warnings the finished operation has (what it could not keep
 * or had to resolve) and, when there are any, the command that lists them.
 */
export function warningsLine(noun: 'backup' | 'restore', id: string, record: Record<string, unknown>): string {
  const warnings = Number(record.warnings ?? 0);
  const command = noun === 'backup' ? `share backup report ${id}` : `share restore report ${id}`;
  if (!(warnings > 0)) return `${noun} ${id}: 0 warnings.`;
  return `${noun} ${id}: ${warnings} warning${warnings === 1 ? '' : 's'} (what it could not keep or had to resolve); read them with: ${command}`;
}

interface ReportPage { report: ApiRecord[]; warnings: number; truncated: boolean; report_links?: { rel: string; href: string }[] }

/** Every entry of a report (following its next links), or the first `limit`. */
async function readReport(client: ShareClient, path: string, limit: number | undefined): Promise<{ entries: ApiRecord[]; warnings: number; truncated: boolean }> {
  const entries: ApiRecord[] = [];
  let offset = 0;
  for (;;) {
    const pageLimit = limit === undefined ? 1000 : Math.min(1000, limit - entries.length);
    const page = await client.request<ReportPage>('GET', `${path}${query({ limit: String(pageLimit), offset: String(offset) })}`);
    entries.push(...page.report);
    const next = page.report_links?.find((l) => l.rel === 'next');
    const nextOffset = next ? new URL(next.href).searchParams.get('offset') : null;
    if (nextOffset === null || page.report.length === 0 || (limit !== undefined && entries.length >= limit)) {
      return { entries, warnings: page.warnings, truncated: page.truncated };
    }
    offset = Number(nextOffset);
  }
}

function reportFooter(warnings: number, shown: number, truncated: boolean): string {
  const parts = [`${warnings} warning${warnings === 1 ? '' : 's'}, ${shown} listed`];
  if (truncated) parts.push('the stored report is shorter than the count (capped, or entries lost); the copier\'s log has every entry');
  return `${parts.join('; ')}.`;
}

// ---- the program ------------------------------------------------------------------------------

const SHARE_COLUMNS: Column[] = [
  { header: 'ID', key: 'id' }, { header: 'Name', key: 'name' }, { header: 'Size', key: 'size' },
  { header: 'Share Proto', key: 'share_proto' }, { header: 'Status', key: 'status' },
];
const SHARE_DETAIL_COLUMNS: Column[] = [
  ...SHARE_COLUMNS, { header: 'Description', key: 'description' }, { header: 'Availability Zone', key: 'availability_zone' },
  { header: 'Project ID', key: 'project_id' }, { header: 'Source Backup ID', key: 'source_backup_id' }, { header: 'Created At', key: 'created_at' },
];
const BACKUP_COLUMNS: Column[] = [
  { header: 'ID', key: 'id' }, { header: 'Name', key: 'name' }, { header: 'Share ID', key: 'share_id' }, { header: 'Status', key: 'status' },
];
const BACKUP_DETAIL_COLUMNS: Column[] = [
  ...BACKUP_COLUMNS, { header: 'Description', key: 'description' }, { header: 'Size', key: 'size' },
  { header: 'Availability Zone', key: 'availability_zone' }, { header: 'Backup Type', key: 'backup_type' },
  { header: 'Progress', key: 'progress' }, { header: 'Restore Progress', key: 'restore_progress' }, { header: 'Created At', key: 'created_at' },
];
const RESTORE_COLUMNS: Column[] = [
  { header: 'ID', key: 'id' }, { header: 'Backup ID', key: 'backup_id' }, { header: 'Share ID', key: 'share_id' },
  { header: 'Status', key: 'status' }, { header: 'Phase', key: 'phase' }, { header: 'Files Done', key: 'files_done' },
  { header: 'Files Total', key: 'files_total' }, { header: 'Created At', key: 'created_at' },
];
const REPORT_COLUMNS: Column[] = [
  { header: 'Seq', key: 'seq' }, { header: 'Path', key: 'path' }, { header: 'What', key: 'what' }, { header: 'Action', key: 'action' },
  { header: 'Why', key: 'why' }, { header: 'Moved To', key: 'moved_to' },
];
const EXPORT_LOCATION_COLUMNS: Column[] = [{ header: 'ID', key: 'id' }, { header: 'Path', key: 'path' }, { header: 'Preferred', key: 'preferred' }];

export function buildProgram(io: ProgramIo): Command {
  const print = (text: string) => io.stdout(text);
  const note = (text: string) => (io.stderr ? io.stderr(text) : process.stderr.write(`${text}\n`));
  const wait = <T>(spec: WaitSpec<T>) => waitUntilSettled(spec, { intervalMs: io.pollIntervalMs });
  const showShare = async (client: ShareClient, id: string, options: FormatOptions) => {
    const share = (await client.request<{ share: ApiRecord }>('GET', `/shares/${id}`)).share;
    print(renderRecord(share, outputOf(options), SHARE_DISPLAYS));
  };

  const program = new Command('share')
    .description('Shares, share backups and restores of the share backup service (OpenStack Manila API, microversion 2.91).')
    .version(packageJson.version)
    .addOption(new Option('--os-endpoint <url>', 'service endpoint').env('OS_SHARE_ENDPOINT').default(DEFAULT_ENDPOINT))
    .addOption(new Option('--os-token <token>', 'token (npm start prints one)').env('OS_TOKEN'))
    .addOption(new Option('--os-share-api-version <version>', 'microversion to request').env('OS_SHARE_API_VERSION').default(MAX_API_VERSION))
    .showHelpAfterError('(add --help for usage)');
  withExamples(program, 'export OS_TOKEN=<MEMBER_TOKEN printed by npm start>', 'share create NFS 1 --name src', 'share backup create src --name first --wait');

  // -- shares
  withExamples(withOutput(program.command('create <proto> <size>').description('Create a share (size in GiB), optionally from a backup'))
    .option('--name <name>', 'share name')
    .option('--description <description>', 'share description')
    .option('--backup-id <backup>', 'create the share from this backup (name or ID)')
    .option('--wait', 'wait until the share is available'), 'share create NFS 1 --name src', 'share create NFS 1 --name copy --backup-id first --wait')
    .action(async (proto: string, size: string, options: FormatOptions & { name?: string; description?: string; backupId?: string; wait?: boolean }, command: Command) => {
      const client = clientOf(command);
      const body: Record<string, unknown> = { share_proto: proto, size: positiveSize(size, 'size') };
      if (options.name !== undefined) body.name = options.name;
      if (options.description !== undefined) body.description = options.description;
      if (options.backupId !== undefined) {
        client.requireApiVersion(BACKUPS_VERSION, 'Creating a share from a backup');
        body.backup_id = (await findResource(client, BACKUP, options.backupId)).id;
      }
      let share = (await client.request<{ share: ApiRecord }>('POST', '/shares', { share: body })).share;
      if (options.wait) share = (await wait(shareWait(client, share.id))).share;
      print(renderRecord(share, outputOf(options), SHARE_DISPLAYS));
    });

  withExamples(withOutput(program.command('list').description('List shares'))
    .option('--name <name>', 'only shares with this name')
    .option('--status <status>', 'only shares in this status')
    .option('--detail', 'more columns'), 'share list --status available -f json')
    .action(async (options: FormatOptions & { name?: string; status?: string; detail?: boolean }, command: Command) => {
      const client = clientOf(command);
      const body = await client.request<{ shares: ApiRecord[] }>('GET', `/shares/detail${query({ name: options.name, status: options.status })}`);
      print(renderList(body.shares, options.detail ? SHARE_DETAIL_COLUMNS : SHARE_COLUMNS, outputOf(options)));
    });

  withExamples(withOutput(program.command('show <share>').description('Show a share (name or ID)'))
    .option('--wait', 'wait until the share settles (e.g. a restore into it finishes)'), 'share show src', 'share show src -c status -f value')
    .action(async (nameOrId: string, options: FormatOptions & { wait?: boolean }, command: Command) => {
      const client = clientOf(command);
      const share = await findResource(client, SHARE, nameOrId);
      if (options.wait) await wait(shareWait(client, share.id));
      await showShare(client, share.id, options);
    });

  withExamples(program.command('set <share>').description('Set a share\'s name or description; an admin may reset its status')
    .option('--name <name>', 'new name')
    .option('--description <description>', 'new description')
    .option('--status <status>', 'reset the status (admin)'), 'share set src --name source --description "project files"', 'share set src --status available')
    .action(async (nameOrId: string, options: { name?: string; description?: string; status?: string }, command: Command) => {
      if (options.name === undefined && options.description === undefined && options.status === undefined) {
        throw new CliError('Nothing to set: give --name, --description or --status.');
      }
      const client = clientOf(command);
      const share = await findResource(client, SHARE, nameOrId);
      if (options.name !== undefined || options.description !== undefined) {
        const update: Record<string, string> = {};
        if (options.name !== undefined) update.display_name = options.name;
        if (options.description !== undefined) update.display_description = options.description;
        await client.request('PUT', `/shares/${share.id}`, { share: update });
      }
      if (options.status !== undefined) await client.request('POST', `/shares/${share.id}/action`, { reset_status: { status: options.status } });
    });

  withExamples(program.command('delete <share>').description('Delete a share')
    .option('--wait', 'wait until the share is gone'), 'share delete src --wait')
    .action(async (nameOrId: string, options: { wait?: boolean }, command: Command) => {
      const client = clientOf(command);
      const share = await findResource(client, SHARE, nameOrId);
      await client.request('DELETE', `/shares/${share.id}`);
      if (options.wait) await wait(deletionWait(client, 'share', `/shares/${share.id}`, 'share', 'error_deleting'));
    });

  for (const action of ['extend', 'shrink'] as const) {
    withExamples(program.command(`${action} <share> <new-size>`).description(`${action === 'extend' ? 'Grow' : 'Shrink'} a share to a new size in GiB`)
      .option('--wait', 'wait until the share is available again'), `share ${action} src ${action === 'extend' ? 2 : 1} --wait`)
      .action(async (nameOrId: string, newSize: string, options: { wait?: boolean }, command: Command) => {
        const client = clientOf(command);
        const size = positiveSize(newSize, 'new size');
        const share = await findResource(client, SHARE, nameOrId);
        await client.request('POST', `/shares/${share.id}/action`, { [action]: { new_size: size } });
        if (options.wait) await wait(shareWait(client, share.id));
      });
  }

  const exportGroup = withExamples(program.command('export').description('Export locations of shares'), 'share export location list src');
  const exportLocation = withExamples(exportGroup.command('location').description('Export locations of a share'), 'share export location list src');
  withExamples(withOutput(exportLocation.command('list <share>').description('List a share\'s export locations (where to mount it)')), 'share export location list src -c Path -f value')
    .action(async (nameOrId: string, options: FormatOptions, command: Command) => {
      const client = clientOf(command);
      const share = await findResource(client, SHARE, nameOrId);
      const body = await client.request<{ export_locations: ApiRecord[] }>('GET', `/shares/${share.id}/export_locations`);
      print(renderList(body.export_locations, EXPORT_LOCATION_COLUMNS, outputOf(options)));
    });

  // -- backups
  const backup = withExamples(program.command('backup').description('Share backups (API 2.80+)'),
    'share backup create src --name first --wait', 'share backup restore first --target-share dst --wait');
  const backupClient = (command: Command) => {
    const client = clientOf(command);
    client.requireApiVersion(BACKUPS_VERSION, 'Share backups');
    return client;
  };
  const showBackup = async (client: ShareClient, id: string, options: FormatOptions) => {
    const record = (await client.request<{ share_backup: ApiRecord }>('GET', `/share-backups/${id}`)).share_backup;
    print(renderRecord(record, outputOf(options)));
  };

  withExamples(withOutput(backup.command('create <share>').description('Back up a share'))
    .option('--name <name>', 'backup name')
    .option('--description <description>', 'backup description')
    .option('--backup-type <type>', 'backup driver to use (the deployment\'s default otherwise)')
    .option('--wait', 'wait until the backup is available'), 'share backup create src --name first --wait')
    .action(async (nameOrId: string, options: FormatOptions & { name?: string; description?: string; backupType?: string; wait?: boolean }, command: Command) => {
      const client = backupClient(command);
      const share = await findResource(client, SHARE, nameOrId);
      const body: Record<string, unknown> = { share_id: share.id };
      if (options.name !== undefined) body.name = options.name;
      if (options.description !== undefined) body.description = options.description;
      if (options.backupType !== undefined) body.backup_options = { backup_type: options.backupType };
      let record = (await client.request<{ share_backup: ApiRecord }>('POST', '/share-backups', { share_backup: body })).share_backup;
      if (options.wait) record = await wait(backupWait(client, record.id));
      print(renderRecord(record, outputOf(options)));
      if (options.wait) note(warningsLine('backup', String(record.id), record));
    });

  withExamples(withOutput(backup.command('list').description('List share backups'))
    .option('--share <share>', 'only backups of this share (name or ID)')
    .option('--name <name>', 'only backups with this name')
    .option('--status <status>', 'only backups in this status')
    .option('--detail', 'more columns'), 'share backup list --share src --detail')
    .action(async (options: FormatOptions & { share?: string; name?: string; status?: string; detail?: boolean }, command: Command) => {
      const client = backupClient(command);
      const shareId = options.share === undefined ? undefined : (await findResource(client, SHARE, options.share)).id;
      const body = await client.request<{ share_backups: ApiRecord[] }>('GET', `/share-backups/detail${query({ share_id: shareId, name: options.name, status: options.status })}`);
      print(renderList(body.share_backups, options.detail ? BACKUP_DETAIL_COLUMNS : BACKUP_COLUMNS, outputOf(options)));
    });

  withExamples(withOutput(backup.command('show <backup>').description('Show a share backup (name or ID)'))
    .option('--wait', 'wait until the backup settles (created, restored or deleted)'), 'share backup show first', 'share backup show first --wait')
    .action(async (nameOrId: string, options: FormatOptions & { wait?: boolean }, command: Command) => {
      const client = backupClient(command);
      const record = await findResource(client, BACKUP, nameOrId);
      if (options.wait) await wait(backupWait(client, record.id));
      await showBackup(client, record.id, options);
    });

  withExamples(backup.command('set <backup>').description('Set a backup\'s name or description; an admin may reset its status')
    .option('--name <name>', 'new name')
    .option('--description <description>', 'new description')
    .option('--status <status>', 'reset the status (admin)'), 'share backup set first --name nightly', 'share backup set first --status available')
    .action(async (nameOrId: string, options: { name?: string; description?: string; status?: string }, command: Command) => {
      if (options.name === undefined && options.description === undefined && options.status === undefined) {
        throw new CliError('Nothing to set: give --name, --description or --status.');
      }
      const client = backupClient(command);
      const record = await findResource(client, BACKUP, nameOrId);
      if (options.name !== undefined || options.description !== undefined) {
        const update: Record<string, string> = {};
        if (options.name !== undefined) update.name = options.name;
        if (options.description !== undefined) update.description = options.description;
        await client.request('PUT', `/share-backups/${record.id}`, { share_backup: update });
      }
      if (options.status !== undefined) await client.request('POST', `/share-backups/${record.id}/action`, { reset_status: { status: options.status } });
    });

  withExamples(backup.command('unset <backup>').description('Clear a backup\'s name or description')
    .option('--name', 'clear the name')
    .option('--description', 'clear the description'), 'share backup unset first --description')
    .action(async (nameOrId: string, options: { name?: boolean; description?: boolean }, command: Command) => {
      if (!options.name && !options.description) throw new CliError('Nothing to unset: give --name or --description.');
      const client = backupClient(command);
      const record = await findResource(client, BACKUP, nameOrId);
      const update: Record<string, null> = {};
      if (options.name) update.name = null;
      if (options.description) update.description = null;
      await client.request('PUT', `/share-backups/${record.id}`, { share_backup: update });
    });

  withExamples(backup.command('delete <backup>').description('Delete a share backup')
    .option('--wait', 'wait until the backup is gone'), 'share backup delete first --wait')
    .action(async (nameOrId: string, options: { wait?: boolean }, command: Command) => {
      const client = backupClient(command);
      const record = await findResource(client, BACKUP, nameOrId);
      await client.request('DELETE', `/share-backups/${record.id}`);
      if (options.wait) await wait(deletionWait(client, 'backup', `/share-backups/${record.id}`, 'share_backup', 'error_deleting'));
    });

  withExamples(withOutput(backup.command('restore <backup>').description('Restore a backup onto its source share, or onto another share (API 2.91+)'))
    .option('--target-share <share>', 'restore onto this share (name or ID) instead of the source share')
    .option('--wait', 'wait until the restore finishes, showing its progress'), 'share backup restore first --target-share dst --wait', 'share backup restore first')
    .action(async (nameOrId: string, options: FormatOptions & { targetShare?: string; wait?: boolean }, command: Command) => {
      const client = backupClient(command);
      // refused before anything is sent, as python-manilaclient does: below 2.91 the API would
      // silently restore onto the source share instead
      if (options.targetShare !== undefined) client.requireApiVersion(TARGETED_RESTORE_VERSION, 'Restoring onto a target share (--target-share)');
      const record = await findResource(client, BACKUP, nameOrId);
      const target = options.targetShare === undefined ? null : (await findResource(client, SHARE, options.targetShare)).id;
      const answer = (await client.request<{ restore: ApiRecord & { restore_id: string } }>('POST', `/share-backups/${record.id}/action`, { restore: target })).restore;
      if (options.wait) {
        const finished = await wait(restoreWait(client, answer.restore_id));
        print(renderRecord(finished, outputOf(options)));
        note(warningsLine('restore', answer.restore_id, finished));
      } else {
        print(renderRecord(answer, outputOf(options)));
      }
    });

  withExamples(withOutput(backup.command('report <backup>').description('List what a backup could not keep (its per-entry report) and its warning count'))
    .option('--limit <n>', 'list at most n entries (all by default)'), 'share backup report first', 'share backup report first -f json')
    .action(async (nameOrId: string, options: FormatOptions & { limit?: string }, command: Command) => {
      const client = backupClient(command);
      const record = await findResource(client, BACKUP, nameOrId);
      const limit = options.limit === undefined ? undefined : nonNegative(options.limit, '--limit');
      const report = await readReport(client, `/share-backups/${record.id}/report`, limit);
      print(renderList(report.entries, REPORT_COLUMNS, outputOf(options)));
      note(reportFooter(report.warnings, report.entries.length, report.truncated));
    });

  // -- restore records
  const restore = withExamples(program.command('restore').description('Restore records: progress and outcome of each restore'),
    'share restore list', 'share restore show <restore-id> --wait');
  withExamples(withOutput(restore.command('list').description('List restores'))
    .option('--backup <backup>', 'only restores of this backup (name or ID)')
    .option('--share <share>', 'only restores into this share (name or ID)')
    .option('--status <status>', 'accepted, running, succeeded or failed'), 'share restore list --share dst')
    .action(async (options: FormatOptions & { backup?: string; share?: string; status?: string }, command: Command) => {
      const client = clientOf(command);
      const backupId = options.backup === undefined ? undefined : (await findResource(client, BACKUP, options.backup)).id;
      const shareId = options.share === undefined ? undefined : (await findResource(client, SHARE, options.share)).id;
      const body = await client.request<{ share_restores: ApiRecord[] }>('GET', `/share-restores${query({ backup_id: backupId, share_id: shareId, status: options.status })}`);
      print(renderList(body.share_restores, RESTORE_COLUMNS, outputOf(options)));
    });

  withExamples(withOutput(restore.command('show <restore-id>').description('Show a restore record'))
    .option('--wait', 'wait until the restore finishes, showing its progress'), 'share restore show 0c5e2b1a-7f4e-4c1d-9a43-2f0d8e6b1c77 --wait')
    .action(async (restoreId: string, options: FormatOptions & { wait?: boolean }, command: Command) => {
      const client = clientOf(command);
      const spec = restoreWait(client, encodeURIComponent(restoreId));
      const record = options.wait ? await wait(spec) : await spec.read();
      print(renderRecord(record, outputOf(options)));
      if (options.wait) note(warningsLine('restore', restoreId, record));
    });

  withExamples(withOutput(restore.command('report <restore-id>').description('List what a restore could not keep, moved aside or repaired, and its warning count'))
    .option('--limit <n>', 'list at most n entries (all by default)'), 'share restore report 0c5e2b1a-7f4e-4c1d-9a43-2f0d8e6b1c77')
    .action(async (restoreId: string, options: FormatOptions & { limit?: string }, command: Command) => {
      const client = clientOf(command);
      const limit = options.limit === undefined ? undefined : nonNegative(options.limit, '--limit');
      const report = await readReport(client, `/share-restores/${encodeURIComponent(restoreId)}/report`, limit);
      print(renderList(report.entries, REPORT_COLUMNS, outputOf(options)));
      note(reportFooter(report.warnings, report.entries.length, report.truncated));
    });

  return program;
}

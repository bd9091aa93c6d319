// Backups of one share or of all: create, rename, delete, restore; progress while being taken.
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { listPage, type Share, type ShareBackup } from '../api/client.ts';
import { mayChange } from '../auth/session.ts';
import { BACKUP_STATUS_MEANING, formatBytes, formatDate } from '../format.ts';
import { RestoreDialog } from '../restore-dialog.tsx';
import { Confirm, ErrorMessage, Pager, Status, TableWrap } from '../ui.tsx';
import { FormDialog, usePaged } from './shares.tsx';

const LIMIT = 20;

type Dialog = { kind: 'create' } | { kind: 'rename' | 'delete' | 'restore'; backup: ShareBackup } | undefined;

/** Every share of the project (the pickers need them all, not one page). */
export async function allShares(api: PageProps['api']): Promise<Share[]> {
  const shares: Share[] = [];
  for (;;) {
    const page = await listPage<Share>(api, '/v2/shares/detail', 'shares', { limit: 1000, offset: shares.length });
    shares.push(...page.items);
    if (!page.hasNext || page.items.length === 0) return shares;
  }
}

export function BackupsPage({ api, session, params }: PageProps) {
  const shareId = params.get('share') ?? undefined;
  const [shares, setShares] = useState<Share[]>([]);
  useEffect(() => {
    allShares(api).then(setShares, () => setShares([]));
  }, [api]);
  const list = usePaged<ShareBackup>(
    (offset) => listPage<ShareBackup>(api, '/v2/share-backups/detail', 'share_backups', { limit: LIMIT, offset, share_id: shareId, sort_key: 'created_at', sort_dir: 'desc' }),
    (items) => items.some((b) => ['creating', 'restoring', 'deleting'].includes(b.status)),
    [api, shareId],
  );
  const [dialog, setDialog] = useState<Dialog>();
  const canChange = mayChange(session);
  const close = () => { setDialog(undefined); list.reload(); };
  const shareName = (id: string) => shares.find((s) => s.id === id)?.name || id;
  const filterShare = shareId ? shares.find((s) => s.id === shareId) : undefined;

  return (
    <section aria-labelledby="backups-title">
      <div class="page-head">
        <h1 id="backups-title">Backups{shareId ? ` of ${filterShare?.name || shareId}` : ''}</h1>
        {canChange ? <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>Create backup</button> : null}
      </div>
      <label for="backup-filter">Show backups of</label>
      <select id="backup-filter" value={shareId ?? ''} onChange={(e) => {
        const value = e.currentTarget.value;
        window.location.hash = value ? `#/backups?share=${value}` : '#/backups';
      }}>
        <option value="">every share</option>
        {shares.map((s) => <option key={s.id} value={s.id}>{s.name || s.id}</option>)}
      </select>
      <ErrorMessage error={list.error} />
      {list.page && list.page.items.length === 0 ? <p>No backups yet.</p> : null}
      {list.page && list.page.items.length > 0 ? (
        <TableWrap label="Backups">
          <table>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Share</th><th scope="col">Status</th><th scope="col">Size</th><th scope="col">Holds</th><th scope="col">Created</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {list.page.items.map((backup) => {
                const label = backup.name || backup.id;
                return (
                  <tr key={backup.id} data-backup-id={backup.id}>
                    <th scope="row">{backup.name || <span class="muted">(no name)</span>}<div class="id">{backup.id}</div></th>
                    <td>{shareName(backup.share_id)}</td>
                    <td>
                      <Status status={backup.status} meaning={BACKUP_STATUS_MEANING} />
                      {backup.status === 'creating' ? (
                        <progress max={100} value={Number(backup.progress)} aria-label={`Backup ${label} progress`}>{backup.progress} %</progress>
                      ) : null}
                    </td>
                    <td>{backup.size} GiB</td>
                    <td>{backup.files === null ? '—' : `${backup.files} files, ${formatBytes(backup.bytes)}`}{backup.warnings > 0 ? <div class="warn">{backup.warnings} warnings</div> : null}</td>
                    <td>{formatDate(backup.created_at)}</td>
                    <td class="actions">
                      {canChange && backup.status === 'available' ? (
                        <button type="button" class="small primary" onClick={() => setDialog({ kind: 'restore', backup })}>Restore<span class="sr-only"> {label}</span></button>
                      ) : null}
                      {canChange ? (
                        <>
                          <button type="button" class="small" onClick={() => setDialog({ kind: 'rename', backup })}>Rename<span class="sr-only"> {label}</span></button>
                          <button type="button" class="small danger" onClick={() => setDialog({ kind: 'delete', backup })}>Delete<span class="sr-only"> {label}</span></button>
                        </>
                      ) : null}
                      <a href={`#/restores?backup=${backup.id}`}>Restores<span class="sr-only"> of {label}</span></a>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Backups" offset={list.offset} limit={LIMIT} hasNext={list.page?.hasNext ?? false} onChange={list.setOffset} />
      {dialog?.kind === 'create' ? <CreateBackup api={api} shares={shares} shareId={shareId} onClose={close} /> : null}
      {dialog?.kind === 'rename' ? <RenameBackup api={api} backup={dialog.backup} onClose={close} /> : null}
      {dialog?.kind === 'delete' ? <DeleteBackup api={api} backup={dialog.backup} onClose={close} /> : null}
      {dialog?.kind === 'restore' ? <RestoreDialog api={api} backup={dialog.backup} onClose={close} /> : null}
    </section>
  );
}

function CreateBackup(props: { api: PageProps['api']; shares: Share[]; shareId?: string; onClose: () => void }) {
  const [shareId, setShareId] = useState(props.shareId ?? props.shares[0]?.id ?? '');
  const [name, setName] = useState('');
  return (
    <FormDialog title="Create backup" submitLabel="Back up" onClose={props.onClose}
      onSubmit={() => props.api.call('POST', '/v2/share-backups', { share_backup: { share_id: shareId, name: name || null } })}>
      <label for="backup-share">Share</label>
      <select id="backup-share" value={shareId} required onChange={(e) => setShareId(e.currentTarget.value)}>
        {props.shares.map((s) => <option key={s.id} value={s.id}>{s.name || s.id} ({s.status})</option>)}
      </select>
      <label for="backup-name">Name</label>
      <input id="backup-name" value={name} maxLength={255} onInput={(e) => setName(e.currentTarget.value)} />
    </FormDialog>
  );
}

function RenameBackup(props: { api: PageProps['api']; backup: ShareBackup; onClose: () => void }) {
  const [name, setName] = useState(props.backup.name ?? '');
  return (
    <FormDialog title={`Rename backup ${props.backup.name ?? props.backup.id}`} submitLabel="Rename" onClose={props.onClose}
      onSubmit={() => props.api.call('PUT', `/v2/share-backups/${props.backup.id}`, { share_backup: { name: name || null } })}>
      <label for="rename-backup">New name</label>
      <input id="rename-backup" value={name} maxLength={255} onInput={(e) => setName(e.currentTarget.value)} />
    </FormDialog>
  );
}

function DeleteBackup(props: { api: PageProps['api']; backup: ShareBackup; onClose: () => void }) {
  return (
    <Confirm title="Delete backup" confirmLabel="Delete backup" danger onClose={props.onClose}
      onConfirm={() => props.api.call('DELETE', `/v2/share-backups/${props.backup.id}`)}>
      <p>Delete backup <strong>{props.backup.name ?? props.backup.id}</strong>? It can no longer be restored afterwards.</p>
    </Confirm>
  );
}

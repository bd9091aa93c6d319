// Shares: list (paged), create, rename, resize, delete, and the way to a share's backups.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { listPage, type Page, type Share, type ShareBackup } from '../api/client.ts';
import { mayChange } from '../auth/session.ts';
import { SHARE_STATUS_MEANING, formatBytes, formatDate } from '../format.ts';
import { latestMeasuredBackups } from '../usage.ts';
import { Confirm, ErrorMessage, Modal, Pager, Status, TableWrap } from '../ui.tsx';

const LIMIT = 20;
/** The "Used" column reads the latest available backups in one list call (the API's largest page). */
const BACKUPS_LIMIT = 1000;
const TRANSIENT = ['creating', 'deleting', 'extending', 'shrinking', 'backup_creating', 'backup_restoring'];

/** Loads a page of a list, again every 2 s while something in it is changing. */
export function usePaged<T>(load: (offset: number) => Promise<Page<T>>, busy: (items: T[]) => boolean, deps: unknown[]) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<T>>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load(offset).then(
      (p) => { if (live) { setPage(p); setError(undefined); } },
      (err: Error) => { if (live) setError(err.message); },
    );
    return () => { live = false; };
  }, [offset, tick, ...deps]);
  useEffect(() => {
    if (!page || !busy(page.items)) return;
    const timer = setTimeout(reload, 2000);
    return () => clearTimeout(timer);
  }, [page]);
  return { offset, setOffset, page, error, reload };
}

type Dialog = { kind: 'create' } | { kind: 'rename' | 'resize' | 'delete'; share: Share } | undefined;

export function SharesPage({ api, session }: PageProps) {
  const list = usePaged<Share>(
    (offset) => listPage<Share>(api, '/v2/shares/detail', 'shares', { limit: LIMIT, offset, sort_key: 'created_at', sort_dir: 'desc' }),
    (items) => items.some((s) => TRANSIENT.includes(s.status)),
    [api],
  );
  const [measured, setMeasured] = useState<Map<string, ShareBackup>>();
  // one backups list a page load, not one a share: the latest available backups, newest first
  useEffect(() => {
    if (!list.page) return;
    let live = true;
    listPage<ShareBackup>(api, '/v2/share-backups/detail', 'share_backups', { status: 'available', limit: BACKUPS_LIMIT, sort_key: 'created_at', sort_dir: 'desc' }).then(
      (p) => { if (live) setMeasured(latestMeasuredBackups(p.items)); },
      () => { if (live) setMeasured(new Map()); },
    );
    return () => { live = false; };
  }, [api, list.page]);
  const [dialog, setDialog] = useState<Dialog>();
  const [copied, setCopied] = useState<string>();
  const canChange = mayChange(session);
  const close = () => { setDialog(undefined); list.reload(); };

  const copy = async (path: string) => {
    try {
      await navigator.clipboard.writeText(path);
      setCopied(`Copied ${path}`);
    } catch {
      setCopied('Copying was refused by the browser: select the path and copy it.');
    }
  };

  return (
    <section aria-labelledby="shares-title">
      <div class="page-head">
        <h1 id="shares-title">Shares</h1>
        {canChange ? <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>Create share</button> : null}
      </div>
      <ErrorMessage error={list.error} />
      <p class="sr-only" aria-live="polite">{copied}</p>
      {list.page && list.page.items.length === 0 ? <p>No shares yet.</p> : null}
      {list.page && list.page.items.length > 0 ? (
        <TableWrap label="Shares">
          <table>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Protocol</th><th scope="col">Size</th><th scope="col">Used</th><th scope="col">Status</th><th scope="col">Export location</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {list.page.items.map((share) => {
                const path = share.export_locations[0]?.path;
                const label = share.name || share.id;
                return (
                  <tr key={share.id} data-share-id={share.id}>
                    <th scope="row">{share.name || <span class="muted">(no name)</span>}<div class="id">{share.id}</div></th>
                    <td>{share.share_proto}</td>
                    <td>{share.size} GiB</td>
                    <td class="used"><Used backup={measured?.get(share.id)} loading={!measured} /></td>
                    <td><Status status={share.status} meaning={SHARE_STATUS_MEANING} /></td>
                    <td>
                      {path ? (
                        <span class="export">
                          <code>{path}</code>
                          <button type="button" class="small" aria-label={`Copy export location of ${label}`} onClick={() => void copy(path)}>Copy</button>
                        </span>
                      ) : '—'}
                    </td>
                    <td class="actions">
                      <a href={`#/backups?share=${share.id}`}>Backups<span class="sr-only"> of {label}</span></a>
                      {canChange ? (
                        <>
                          <button type="button" class="small" onClick={() => setDialog({ kind: 'rename', share })}>Rename<span class="sr-only"> {label}</span></button>
                          <button type="button" class="small" onClick={() => setDialog({ kind: 'resize', share })}>Resize<span class="sr-only"> {label}</span></button>
                          <button type="button" class="small danger" onClick={() => setDialog({ kind: 'delete', share })}>Delete<span class="sr-only"> {label}</span></button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Shares" offset={list.offset} limit={LIMIT} hasNext={list.page?.hasNext ?? false} onChange={list.setOffset} />
      {dialog?.kind === 'create' ? <CreateShare api={api} onClose={close} /> : null}
      {dialog?.kind === 'rename' ? <RenameShare api={api} share={dialog.share} onClose={close} /> : null}
      {dialog?.kind === 'resize' ? <ResizeShare api={api} share={dialog.share} onClose={close} /> : null}
      {dialog?.kind === 'delete' ? <DeleteShare api={api} share={dialog.share} onClose={close} /> : null}
    </section>
  );
}

/** What the share's latest available backup measured: the API has no live usage figure. */
function Used(props: { backup: ShareBackup | undefined; loading: boolean }) {
  if (props.loading) return <span class="muted">…</span>;
  if (!props.backup || props.backup.bytes === null) {
    return <span title="not measured: no backup yet" aria-description="not measured: no backup yet">—</span>;
  }
  return <span>{formatBytes(props.backup.bytes)} <span class="muted">at last backup, {formatDate(props.backup.created_at)}</span></span>;
}

/** A form in a dialog that calls the API and closes on success, or shows the API's message. */
export function FormDialog(props: { title: string; submitLabel: string; onSubmit: () => Promise<unknown>; onClose: () => void; children: ComponentChildren }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit();
      props.onClose();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <form onSubmit={submit}>
        {props.children}
        <ErrorMessage error={error} />
        <div class="buttons">
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy}>{props.submitLabel}</button>
        </div>
      </form>
    </Modal>
  );
}

function CreateShare(props: { api: PageProps['api']; onClose: () => void }) {
  const [name, setName] = useState('');
  const [proto, setProto] = useState('NFS');
  const [size, setSize] = useState('1');
  return (
    <FormDialog
      title="Create share"
      submitLabel="Create"
      onClose={props.onClose}
      onSubmit={() => props.api.call('POST', '/v2/shares', { share: { name: name || null, share_proto: proto, size: Number(size) } })}
    >
      <label for="share-name">Name</label>
      <input id="share-name" value={name} maxLength={255} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="share-proto">Protocol</label>
      <select id="share-proto" value={proto} onChange={(e) => setProto(e.currentTarget.value)}>
        <option value="NFS">NFS</option>
        <option value="CIFS">CIFS</option>
      </select>
      <label for="share-size">Size (GiB)</label>
      <input id="share-size" type="number" min={1} required value={size} onInput={(e) => setSize(e.currentTarget.value)} />
    </FormDialog>
  );
}

function RenameShare(props: { api: PageProps['api']; share: Share; onClose: () => void }) {
  const [name, setName] = useState(props.share.name ?? '');
  return (
    <FormDialog title={`Rename share ${props.share.name ?? props.share.id}`} submitLabel="Rename" onClose={props.onClose}
      onSubmit={() => props.api.call('PUT', `/v2/shares/${props.share.id}`, { share: { name: name || null } })}>
      <label for="rename-share">New name</label>
      <input id="rename-share" value={name} maxLength={255} onInput={(e) => setName(e.currentTarget.value)} />
    </FormDialog>
  );
}

function ResizeShare(props: { api: PageProps['api']; share: Share; onClose: () => void }) {
  const [size, setSize] = useState(String(props.share.size));
  const newSize = Number(size);
  return (
    <FormDialog title={`Resize share ${props.share.name ?? props.share.id}`} submitLabel="Resize" onClose={props.onClose}
      onSubmit={() => props.api.call('POST', `/v2/shares/${props.share.id}/action`,
        newSize > props.share.size ? { extend: { new_size: newSize } } : { shrink: { new_size: newSize } })}>
      <p>Now {props.share.size} GiB. Shrinking is refused if the share holds more than the new size.</p>
      <label for="resize-share">New size (GiB)</label>
      <input id="resize-share" type="number" min={1} required value={size} onInput={(e) => setSize(e.currentTarget.value)} />
    </FormDialog>
  );
}

function DeleteShare(props: { api: PageProps['api']; share: Share; onClose: () => void }) {
  return (
    <Confirm title="Delete share" confirmLabel="Delete share" danger onClose={props.onClose}
      onConfirm={() => props.api.call('DELETE', `/v2/shares/${props.share.id}`)}>
      <p>Delete share <strong>{props.share.name ?? props.share.id}</strong> and every file in it? This cannot be undone.</p>
    </Confirm>
  );
}

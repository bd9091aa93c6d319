// Restore history: every restore of the project (or of one backup), and one restore in detail
// with its live progress and its per-entry report.
import { useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { listPage, type ReportEntry, type ShareRestore } from '../api/client.ts';
import { durationBetween, formatBytes, formatDate, formatDuration } from '../format.ts';
import { RestoreProgress } from '../restore-dialog.tsx';
import { ErrorMessage, Pager, TableWrap } from '../ui.tsx';
import { usePaged } from './shares.tsx';

const LIMIT = 20;

export function RestoresPage({ api, params }: PageProps) {
  const backupId = params.get('backup') ?? undefined;
  const list = usePaged<ShareRestore>(
    (offset) => listPage<ShareRestore>(api, '/v2/share-restores', 'share_restores', { limit: LIMIT, offset, backup_id: backupId, sort_key: 'created_at', sort_dir: 'desc' }),
    (items) => items.some((r) => r.status === 'accepted' || r.status === 'running'),
    [api, backupId],
  );
  return (
    <section aria-labelledby="restores-title">
      <h1 id="restores-title">Restores{backupId ? ` of backup ${backupId}` : ''}</h1>
      <ErrorMessage error={list.error} />
      {list.page && list.page.items.length === 0 ? <p>No restores yet.</p> : null}
      {list.page && list.page.items.length > 0 ? (
        <TableWrap label="Restores">
          <table>
            <thead>
              <tr><th scope="col">Restore</th><th scope="col">Status</th><th scope="col">Phase</th><th scope="col">Files</th><th scope="col">Bytes</th><th scope="col">Duration</th><th scope="col">Failure reason</th></tr>
            </thead>
            <tbody>
              {list.page.items.map((r) => (
                <tr key={r.id}>
                  <th scope="row"><a href={`#/restores/${r.id}`}>{formatDate(r.created_at)}<span class="sr-only"> restore {r.id}</span></a><div class="id">into {r.share_id}</div></th>
                  <td>{r.status}</td>
                  <td>{r.phase}</td>
                  <td>{r.files_done} / {r.files_total}</td>
                  <td>{formatBytes(r.bytes_done)} / {formatBytes(r.bytes_total)}</td>
                  <td>{formatDuration(durationBetween(r.created_at, r.finished_at))}</td>
                  <td>{r.fail_reason ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Restores" offset={list.offset} limit={LIMIT} hasNext={list.page?.hasNext ?? false} onChange={list.setOffset} />
    </section>
  );
}

export function RestoreDetail({ api, id }: PageProps & { id: string }) {
  const [reportOffset, setReportOffset] = useState(0);
  const report = usePaged<ReportEntry>(
    async () => {
      const body = await api.call<{ report: ReportEntry[]; report_links?: { rel: string }[] }>('GET', `/v2/share-restores/${id}/report?limit=${LIMIT}&offset=${reportOffset}`);
      return { items: body.report, hasNext: (body.report_links ?? []).some((l) => l.rel === 'next') };
    },
    () => false,
    [api, id, reportOffset],
  );
  return (
    <section aria-labelledby="restore-title">
      <h1 id="restore-title">Restore {id}</h1>
      <p><a href="#/restores">All restores</a></p>
      <RestoreProgress api={api} id={id} />
      <h2>Report</h2>
      <ErrorMessage error={report.error} />
      {report.page && report.page.items.length === 0 ? <p>Nothing to report: every entry was restored as it is in the backup.</p> : null}
      {report.page && report.page.items.length > 0 ? (
        <TableWrap label="Restore report">
          <table>
            <thead><tr><th scope="col">#</th><th scope="col">Path</th><th scope="col">What</th><th scope="col">Action</th><th scope="col">Why</th></tr></thead>
            <tbody>
              {report.page.items.map((e) => (
                <tr key={e.seq}><td>{e.seq}</td><td><code>{e.path}</code>{e.moved_to ? <div>→ <code>{e.moved_to}</code></div> : null}</td><td>{e.what}</td><td>{e.action}</td><td>{e.why}</td></tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Report" offset={reportOffset} limit={LIMIT} hasNext={report.page?.hasNext ?? false} onChange={setReportOffset} />
    </section>
  );
}

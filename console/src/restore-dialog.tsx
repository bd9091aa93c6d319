// The restore dialog: choose where a backup goes (its source share, another share picked from a
// searchable list that shows why a share cannot take it, or a new share made from it), confirm
// what will be overwritten, then follow the restore live until it ends.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { newShareEligibility, restoreTargetEligibility } from '../../functions/domain/restore-rules.ts';
import type { Api, BackupDriver, Share, ShareBackup, ShareRestore } from './api/client.ts';
import { formatBytes, formatDuration } from './format.ts';
import { allShares } from './pages/backups.tsx';
import { ErrorMessage, Modal } from './ui.tsx';

type Target = 'source' | 'other' | 'new';
type Step = 'choose' | 'confirm' | 'progress';

export function RestoreDialog(props: { api: Api; backup: ShareBackup; onClose: () => void }) {
  const { api, backup } = props;
  const [shares, setShares] = useState<Share[]>();
  const [target, setTarget] = useState<Target>('source');
  const [otherId, setOtherId] = useState<string>();
  const [search, setSearch] = useState('');
  const [newName, setNewName] = useState(`${backup.name || 'restored'}-copy`);
  const [step, setStep] = useState<Step>('choose');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [restoreId, setRestoreId] = useState<string>();
  const [newShareId, setNewShareId] = useState<string>();

  const [driver, setDriver] = useState<BackupDriver>();
  useEffect(() => {
    allShares(api).then(setShares, (err: Error) => setError(err.message));
    // the backup's driver's capabilities; without them the driver's checks are left to the API
    api.call<{ backup_drivers: BackupDriver[] }>('GET', '/v2/backup-drivers').then(
      ({ backup_drivers: drivers }) => setDriver(drivers.find((d) => d.name === backup.backup_type) ?? drivers.find((d) => d.default)),
      () => setDriver(undefined),
    );
  }, [api, backup.backup_type]);

  const source = shares?.find((s) => s.id === backup.share_id);
  const candidates = useMemo(() => {
    const term = search.trim().toLowerCase();
    return (shares ?? [])
      .filter((s) => s.id !== backup.share_id)
      .filter((s) => term === '' || (s.name ?? '').toLowerCase().includes(term) || s.id.includes(term))
      .map((share) => ({ share, eligibility: restoreTargetEligibility(backup, share, driver) }));
  }, [shares, search, backup, driver]);
  const sourceEligibility = source ? restoreTargetEligibility(backup, source, driver) : undefined;
  const newEligibility = newShareEligibility(backup, driver);
  const chosen = target === 'source' ? source : target === 'other' ? shares?.find((s) => s.id === otherId) : undefined;

  const canContinue =
    (target === 'source' && sourceEligibility?.eligible === true) ||
    (target === 'other' && chosen !== undefined && restoreTargetEligibility(backup, chosen, driver).eligible) ||
    (target === 'new' && newEligibility.eligible);

  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      if (target === 'new') {
        const res = await api.call<{ share: Share }>('POST', '/v2/shares', { share: { backup_id: backup.id, name: newName || null } });
        setNewShareId(res.share.id);
        // the restore that fills the new share: the newest restore into it
        const found = await findRestoreInto(api, res.share.id);
        setRestoreId(found);
      } else {
        const res = await api.call<{ restore: { restore_id: string } }>('POST', `/v2/share-backups/${backup.id}/action`, {
          restore: { share_id: chosen!.id },
        });
        setRestoreId(res.restore.restore_id);
      }
      setStep('progress');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const backupLabel = backup.name || backup.id;
  return (
    <Modal title={`Restore backup ${backupLabel}`} onClose={props.onClose} wide>
      {step === 'choose' ? (
        <form onSubmit={(e) => { e.preventDefault(); if (canContinue) setStep('confirm'); }}>
          <p>
            The backup holds {backup.files ?? '?'} files, {formatBytes(backup.bytes)}; a share it is restored onto needs at least {backup.size} GiB.
          </p>
          <fieldset>
            <legend>Restore onto</legend>
            <div class="choice">
              <input type="radio" id="target-source" name="target" checked={target === 'source'} onChange={() => setTarget('source')} />
              <label for="target-source">
                Its source share <strong>{source?.name || backup.share_id}</strong>
                {sourceEligibility && !sourceEligibility.eligible ? <span class="reason"> — not possible now: {sourceEligibility.reason}</span> : null}
                {shares && !source ? <span class="reason"> — the source share no longer exists</span> : null}
              </label>
            </div>
            <div class="choice">
              <input type="radio" id="target-other" name="target" checked={target === 'other'} onChange={() => setTarget('other')} />
              <label for="target-other">Another share</label>
            </div>
            <div class={newEligibility.eligible ? 'choice' : 'choice ineligible'} data-target-new>
              <input type="radio" id="target-new" name="target" checked={target === 'new'} disabled={!newEligibility.eligible}
                aria-describedby={newEligibility.eligible ? undefined : 'reason-target-new'} onChange={() => setTarget('new')} />
              <label for="target-new">A new share made from this backup</label>
              {newEligibility.eligible ? null : <div class="reason" id="reason-target-new">{newEligibility.reason}</div>}
            </div>
          </fieldset>
          {target === 'other' ? (
            <div class="picker">
              <label for="target-search">Search shares by name or id</label>
              <input id="target-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} aria-controls="target-list" />
              <fieldset id="target-list" class="target-list">
                <legend>Shares of the project ({candidates.filter((c) => c.eligibility.eligible).length} of {candidates.length} can take this backup)</legend>
                {shares === undefined ? <p>Loading shares…</p> : null}
                {shares !== undefined && candidates.length === 0 ? <p>No other share matches.</p> : null}
                {candidates.map(({ share, eligibility }) => {
                  const reasonId = `reason-${share.id}`;
                  return (
                    <div class={eligibility.eligible ? 'choice' : 'choice ineligible'} key={share.id} data-target-id={share.id}>
                      <input
                        type="radio"
                        name="other-share"
                        id={`target-${share.id}`}
                        disabled={!eligibility.eligible}
                        checked={otherId === share.id}
                        aria-describedby={eligibility.eligible ? undefined : reasonId}
                        onChange={() => setOtherId(share.id)}
                      />
                      <label for={`target-${share.id}`}>
                        <strong>{share.name || share.id}</strong> · {share.share_proto} · {share.size} GiB · {share.status}
                      </label>
                      {eligibility.eligible ? null : <div class="reason" id={reasonId}>{eligibility.reason}</div>}
                    </div>
                  );
                })}
              </fieldset>
            </div>
          ) : null}
          {target === 'new' ? (
            <div>
              <label for="new-share-name">Name of the new share</label>
              <input id="new-share-name" value={newName} maxLength={255} onInput={(e) => setNewName(e.currentTarget.value)} />
              <p class="hint">It gets the backup's protocol and {backup.size} GiB.</p>
            </div>
          ) : null}
          <ErrorMessage error={error} />
          <div class="buttons">
            <button type="button" onClick={props.onClose}>Cancel</button>
            <button type="submit" class="primary" disabled={!canContinue}>Continue</button>
          </div>
        </form>
      ) : null}
      {step === 'confirm' ? (
        <div>
          {target === 'new' ? (
            <p>A new share <strong>{newName || '(no name)'}</strong> of {backup.size} GiB will be created and filled with backup <strong>{backupLabel}</strong>. Nothing existing is overwritten.</p>
          ) : (
            <p class="overwrite">
              This overwrites share <strong>{chosen?.name || chosen?.id}</strong> ({chosen?.id}): files of backup <strong>{backupLabel}</strong> are
              written over the files of the same name there. Files that are not in the backup are left alone; an entry of another type
              is renamed aside (<code>name.restore-…</code>) and listed in the restore's report. The share cannot be used until the restore ends.
            </p>
          )}
          <ErrorMessage error={error} />
          <div class="buttons">
            <button type="button" onClick={() => setStep('choose')}>Back</button>
            <button type="button" class="danger" disabled={busy} onClick={() => void start()}>
              {target === 'new' ? 'Create and restore' : `Overwrite ${chosen?.name || 'share'} and restore`}
            </button>
          </div>
        </div>
      ) : null}
      {step === 'progress' ? (
        <div>
          {restoreId ? <RestoreProgress api={api} id={restoreId} /> : <p>The new share {newShareId} is being filled from the backup; its restore shows under Restores.</p>}
          <div class="buttons">
            <button type="button" class="primary" onClick={props.onClose}>Close</button>
          </div>
        </div>
      ) : null}
    </Modal>
  );
}

/** The restore filling a share just created from a backup (the API records it before it answers). */
async function findRestoreInto(api: Api, shareId: string): Promise<string | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await api.call<{ share_restores: ShareRestore[] }>('GET', `/v2/share-restores?share_id=${shareId}&sort_key=created_at&sort_dir=desc&limit=1`);
    if (res.share_restores[0]) return res.share_restores[0].id;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return undefined;
}

const percent = (done: number, total: number) => (total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0);

/** Follows a restore record: phase, files and bytes done of total, throughput, ETA; then its end. */
export function RestoreProgress(props: { api: Api; id: string }) {
  const [restore, setRestore] = useState<ShareRestore>();
  const [error, setError] = useState<string>();
  const samples = useRef<{ at: number; bytes: number }[]>([]);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const res = await props.api.call<{ share_restore: ShareRestore }>('GET', `/v2/share-restores/${props.id}`);
        if (!live) return;
        const r = res.share_restore;
        samples.current = [...samples.current, { at: Date.now(), bytes: r.bytes_done }].slice(-10);
        setRestore(r);
        setError(undefined);
        if (r.status === 'succeeded' || r.status === 'failed') return;
      } catch (err) {
        if (live) setError((err as Error).message);
      }
      if (live) timer = setTimeout(() => void poll(), 1000);
    };
    void poll();
    return () => { live = false; clearTimeout(timer); };
  }, [props.id, props.api]);

  if (!restore) return <><p>Starting the restore…</p><ErrorMessage error={error} /></>;
  const first = samples.current[0];
  const last = samples.current.at(-1);
  const throughput = first && last && last.at > first.at ? ((last.bytes - first.bytes) * 1000) / (last.at - first.at) : undefined;
  const done = restore.status === 'succeeded';
  const bytesPercent = done ? 100 : percent(restore.bytes_done, restore.bytes_total);
  const filesPercent = done ? 100 : percent(restore.files_done, restore.files_total);
  const shown = restore.bytes_total > 0 ? bytesPercent : filesPercent;
  return (
    <div class="progress-box" data-restore-id={restore.id} data-restore-status={restore.status}>
      <p aria-live="polite">
        Status <strong data-testid="restore-status">{restore.status}</strong> · phase <strong>{restore.phase}</strong>
      </p>
      <progress max={100} value={shown} aria-label="Restore progress" aria-valuetext={`${shown} %`}>{shown} %</progress>
      <span class="percent" data-testid="restore-percent">{shown} %</span>
      <dl class="figures">
        <dt>Files</dt><dd>{restore.files_done} of {restore.files_total}</dd>
        <dt>Bytes</dt><dd>{formatBytes(restore.bytes_done)} of {formatBytes(restore.bytes_total)}</dd>
        {restore.status === 'running' ? (<><dt>Throughput</dt><dd>{throughput === undefined ? '—' : `${formatBytes(throughput)}/s`}</dd><dt>Time left</dt><dd>{formatDuration(restore.eta_seconds)}</dd></>) : null}
      </dl>
      <ErrorMessage error={error} />
      {restore.status === 'succeeded' ? (
        <p class="ok" role="status">
          Restore complete: {restore.files_done} files, {formatBytes(restore.bytes_done)}.
          {restore.warnings > 0 ? ` ${restore.warnings} entries were moved aside or repaired: see the report.` : ''} Next: mount the share and check its content;{' '}
          <a href={`#/restores/${restore.id}`}>see the restore's details and report</a>.
        </p>
      ) : null}
      {restore.status === 'failed' ? (
        <div class="error" role="alert">
          <p>The restore failed: <span data-testid="fail-reason">{restore.fail_reason ?? 'no reason recorded'}</span></p>
          <p>
            Next: the backup is untouched and can be restored again. If the target share shows <code>backup_restoring_error</code>, its
            content is incomplete: restore again onto it, or ask an admin to reset its status. <a href={`#/restores/${restore.id}`}>Details and report</a>.
          </p>
        </div>
      ) : null}
    </div>
  );
}

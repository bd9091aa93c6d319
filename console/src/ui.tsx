// Small accessible building blocks: modal dialogs (the native <dialog>: focus kept inside, Escape
// closes), a confirmation, an error message read out by screen readers, a pager.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? 'modal wide' : 'modal'}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

export function ErrorMessage(props: { error: string | undefined }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

/**
 * A confirmation. An onConfirm that returns a promise (an API call) is followed here: the button
 * is disabled while it runs, the dialog closes when it succeeds, and its error is shown if not.
 */
export function Confirm(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: string;
  onConfirm: () => void | Promise<unknown>;
  onClose: () => void;
}) {
  const [running, setRunning] = useState(false);
  const [failure, setFailure] = useState<string>();
  const confirm = () => {
    const call = props.onConfirm();
    if (!call) return;
    setRunning(true);
    setFailure(undefined);
    call.then(props.onClose, (err: Error) => { setFailure(err.message); setRunning(false); });
  };
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <div class="confirm-text">{props.children}</div>
      <ErrorMessage error={props.error ?? failure} />
      <div class="buttons">
        <button type="button" onClick={props.onClose}>Cancel</button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={props.busy || running} onClick={confirm}>
          {props.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

export function Pager(props: { offset: number; limit: number; hasNext: boolean; onChange: (offset: number) => void; label: string }) {
  const page = Math.floor(props.offset / props.limit) + 1;
  if (page === 1 && !props.hasNext) return null;
  return (
    <nav class="pager" aria-label={`${props.label} pages`}>
      <button type="button" disabled={props.offset === 0} onClick={() => props.onChange(Math.max(0, props.offset - props.limit))}>
        Previous page
      </button>
      <span aria-live="polite">Page {page}</span>
      <button type="button" disabled={!props.hasNext} onClick={() => props.onChange(props.offset + props.limit)}>
        Next page
      </button>
    </nav>
  );
}

export function Status(props: { status: string; meaning: Record<string, string> }) {
  const meaning = props.meaning[props.status];
  return (
    <span class={`status status-${props.status}`}>
      <strong>{props.status}</strong>
      {meaning ? <span class="meaning">{meaning}</span> : null}
    </span>
  );
}

/** A table that scrolls sideways on a narrow screen, reachable and named for keyboard users. */
export function TableWrap(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}

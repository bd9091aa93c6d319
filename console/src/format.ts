// Figures as people read them.

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function durationBetween(start: string, end: string | null | undefined): number | undefined {
  if (!end) return undefined;
  return (new Date(end).getTime() - new Date(start).getTime()) / 1000;
}

/** What a share's status means to the person looking at it. */
export const SHARE_STATUS_MEANING: Record<string, string> = {
  creating: 'being created',
  available: 'ready to use',
  error: 'creation or an operation failed; it can be deleted',
  deleting: 'being deleted',
  error_deleting: 'deletion failed; an admin can reset its status',
  extending: 'being made larger',
  shrinking: 'being made smaller',
  backup_creating: 'a backup of it is being taken',
  backup_restoring: 'a backup is being restored into it',
  backup_restoring_error: 'a restore into it failed part-way: its content may be incomplete',
};

export const BACKUP_STATUS_MEANING: Record<string, string> = {
  creating: 'being taken',
  available: 'complete; can be restored',
  error: 'failed; it can be deleted',
  restoring: 'being restored',
  deleting: 'being deleted',
  error_deleting: 'deletion failed; an admin can reset its status',
};

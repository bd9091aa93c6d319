// --wait: polls a record until its operation settles, showing progress on stderr (so stdout stays
// the command's result): a live cli-progress bar on a terminal, plain lines otherwise. Ctrl-C
// stops waiting, never the operation, and says how to resume.
import { Presets, SingleBar } from 'cli-progress';
import { CliError } from './client.ts';

export interface ProgressSample {
  /** 0..100 */
  percent: number;
  phase: string;
  filesDone?: number;
  filesTotal?: number;
  bytesDone?: number;
  bytesTotal?: number;
  etaSeconds?: number | null;
}

/** running, finished well, or finished in an error state (with the reason). */
export type Outcome = { state: 'running' } | { state: 'succeeded' } | { state: 'failed'; reason: string };

export interface WaitSpec<T> {
  /** e.g. "restore 0c5e…"; starts every progress line */
  label: string;
  /** the command that resumes waiting, shown after Ctrl-C */
  resumeCommand: string;
  read(): Promise<T>;
  sample(record: T): ProgressSample;
  outcome(record: T): Outcome;
}

export interface WaitOptions {
  intervalMs?: number;
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Bytes per second since the first sample that had copied bytes. */
export class Throughput {
  private first: { at: number; bytes: number } | undefined;
  private rate: number | undefined;

  add(bytesDone: number, at: number): void {
    if (this.first === undefined) {
      this.first = { at, bytes: bytesDone };
      return;
    }
    const seconds = (at - this.first.at) / 1000;
    if (seconds > 0 && bytesDone > this.first.bytes) this.rate = (bytesDone - this.first.bytes) / seconds;
  }

  text(): string {
    return this.rate === undefined ? '--/s' : `${formatBytes(this.rate)}/s`;
  }
}

/** The fields of a progress display, as text. */
export function progressFields(sample: ProgressSample, throughput: Throughput) {
  const hasCounts = sample.filesTotal !== undefined;
  return {
    phase: sample.phase,
    files: hasCounts ? `${sample.filesDone ?? 0}/${sample.filesTotal} files` : '',
    bytes: hasCounts ? `${formatBytes(sample.bytesDone ?? 0)}/${formatBytes(sample.bytesTotal ?? 0)}` : '',
    speed: hasCounts ? throughput.text() : '',
    eta: formatDuration(sample.etaSeconds),
  };
}

/** One plain progress line, for logs and pipes. */
export function progressLine(label: string, sample: ProgressSample, throughput: Throughput): string {
  const f = progressFields(sample, throughput);
  const parts = [`${label}: ${f.phase} ${Math.floor(sample.percent)}%`];
  if (f.files) parts.push(f.files, f.bytes, f.speed, `ETA ${f.eta}`);
  return parts.join(', ');
}

interface ProgressDisplay {
  update(sample: ProgressSample): void;
  stop(): void;
}

function barDisplay(label: string, stream: NodeJS.WriteStream, withCounts: boolean, now: () => number): ProgressDisplay {
  const throughput = new Throughput();
  const format = withCounts
    ? `${label} {bar} {percentage}% | {phase} | {files} | {bytes} | {speed} | ETA {etaText}`
    : `${label} {bar} {percentage}% | {phase}`;
  const bar = new SingleBar({ format, stream, hideCursor: true, barsize: 24, fps: 5 }, Presets.shades_classic);
  let started = false;
  return {
    update(sample) {
      // the rate is measured from the first sample that knows what there is to copy
      if (sample.bytesDone !== undefined && (sample.bytesTotal ?? 0) > 0) throughput.add(sample.bytesDone, now());
      const f = progressFields(sample, throughput);
      const payload = { phase: f.phase, files: f.files, bytes: f.bytes, speed: f.speed, etaText: f.eta };
      const value = Math.floor(sample.percent);
      if (!started) {
        bar.start(100, value, payload);
        started = true;
      } else {
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

function lineDisplay(label: string, stream: NodeJS.WriteStream, now: () => number): ProgressDisplay {
  const throughput = new Throughput();
  let last = '';
  return {
    update(sample) {
      // the rate is measured from the first sample that knows what there is to copy
      if (sample.bytesDone !== undefined && (sample.bytesTotal ?? 0) > 0) throughput.add(sample.bytesDone, now());
      const line = progressLine(label, sample, throughput);
      if (line !== last) stream.write(`${line}\n`);
      last = line;
    },
    stop() {},
  };
}

/** Polls until the operation settles; returns the last record, or fails with the reason. */
export async function waitUntilSettled<T>(spec: WaitSpec<T>, options: WaitOptions = {}): Promise<T> {
  const stream = options.stream ?? process.stderr;
  const intervalMs = options.intervalMs ?? 500;
  const now = options.now ?? Date.now;
  let record = await spec.read();
  const first = spec.sample(record);
  const display = stream.isTTY
    ? barDisplay(spec.label, stream, first.filesTotal !== undefined, now)
    : lineDisplay(spec.label, stream, now);

  const onInterrupt = () => {
    display.stop();
    stream.write(`\nStopped waiting; ${spec.label} goes on. Resume waiting with: ${spec.resumeCommand}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    for (;;) {
      display.update(spec.sample(record));
      const outcome = spec.outcome(record);
      if (outcome.state === 'failed') {
        throw new CliError(`${spec.label[0]!.toUpperCase()}${spec.label.slice(1)} failed: ${outcome.reason}`);
      }
      if (outcome.state === 'succeeded') return record;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      record = await spec.read();
    }
  } finally {
    display.stop();
    process.off('SIGINT', onInterrupt);
  }
}

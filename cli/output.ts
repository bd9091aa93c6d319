// Output as OpenStack's CLI (cliff) gives it: `-f table|json|yaml|value` and `-c <column>`
// (repeatable). Lists are rows under column headers ("ID", "Name"); a single record is a
// Field/Value table of its keys, sorted. json and yaml keep the API's values as they are; table
// and value show them as text.
import { stringify as toYaml } from 'yaml';
import { CliError } from './client.ts';

export const FORMATS = ['table', 'json', 'yaml', 'value'] as const;
export type Format = (typeof FORMATS)[number];

export interface OutputOptions {
  format: Format;
  /** the columns (list) or fields (show) to keep, in this order; empty: all */
  columns: string[];
}

export interface Column {
  header: string;
  /** the record's key */
  key: string;
}

/** How a value reads in a table cell or in `-f value`. */
export type Display = (value: unknown) => string;

export function displayValue(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Picks the columns named by -c (header or key, any case), in the order given. */
export function selectColumns(available: Column[], wanted: string[]): Column[] {
  if (wanted.length === 0) return available;
  const chosen: Column[] = [];
  const unknown: string[] = [];
  for (const name of wanted) {
    const lower = name.toLowerCase();
    const column = available.find((c) => c.header.toLowerCase() === lower || c.key.toLowerCase() === lower);
    if (column) chosen.push(column);
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    throw new CliError(`Unknown column ${unknown.map((u) => `'${u}'`).join(', ')}; the columns are ${available.map((c) => `'${c.header}'`).join(', ')}.`);
  }
  return chosen;
}

/** An aligned table with +---+ borders (cells may hold several lines). */
export function renderTable(headers: string[], rows: string[][]): string {
  const cellLines = (cell: string) => cell.split('\n');
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => Math.max(...cellLines(r[i] ?? '').map((l) => l.length)))));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [rule, line(headers), rule];
  for (const row of rows) {
    const split = row.map(cellLines);
    const height = Math.max(1, ...split.map((s) => s.length));
    for (let k = 0; k < height; k++) out.push(line(split.map((s) => s[k] ?? '')));
  }
  if (rows.length > 0) out.push(rule);
  return `${out.join('\n')}\n`;
}

function serialise(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data);
}

/** A list: one row per record. */
export function renderList(records: Record<string, unknown>[], available: Column[], options: OutputOptions, displays: Record<string, Display> = {}): string {
  const columns = selectColumns(available, options.columns);
  if (options.format === 'json' || options.format === 'yaml') {
    const data = records.map((r) => Object.fromEntries(columns.map((c) => [c.header, r[c.key] ?? null])));
    return serialise(data, options.format);
  }
  const cells = records.map((r) => columns.map((c) => (displays[c.key] ?? displayValue)(r[c.key])));
  if (options.format === 'value') return cells.map((row) => `${row.join(' ')}\n`).join('');
  return renderTable(columns.map((c) => c.header), cells);
}

/** One record: its fields sorted by name, or those named by -c. */
export function renderRecord(record: Record<string, unknown>, options: OutputOptions, displays: Record<string, Display> = {}): string {
  const fields = Object.keys(record).sort().map((key) => ({ header: key, key }));
  const chosen = selectColumns(fields, options.columns);
  if (options.format === 'json' || options.format === 'yaml') {
    return serialise(Object.fromEntries(chosen.map((c) => [c.key, record[c.key] ?? null])), options.format);
  }
  const values = chosen.map((c) => (displays[c.key] ?? displayValue)(record[c.key]));
  if (options.format === 'value') return values.map((v) => `${v}\n`).join('');
  return renderTable(['Field', 'Value'], chosen.map((c, i) => [c.key, values[i]!]));
}

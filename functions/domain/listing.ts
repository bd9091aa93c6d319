// List queries (api.md "Lists"): limit, offset, sort_key (whitelisted), sort_dir, equality filters,
// Manila's inexact `<field>~` filters. Pure: the repository hands over a project's records, this
// module filters, orders and pages them. A query parameter the list does not know is a 400, never
// silently ignored: a client that filters must not get an unfiltered list back.
import { badRequest } from './errors.ts';

export const MAX_LIMIT = 1000;

export interface ListQuery {
  limit: number | undefined;
  offset: number;
  sortKey: string;
  sortDir: 'asc' | 'desc';
  filters: Record<string, string>;
  /** `name~`-style filters: field → case-insensitive substring (Manila 2.36+) */
  inexact: Record<string, string>;
  allTenants: boolean;
  /** the list's own parameters (ListSpec.customKeys), for the operation to interpret */
  custom: Record<string, string>;
}

export interface ListSpec {
  sortKeys: readonly string[];
  /** string-equality filters on the record's field of the same name */
  filterKeys: readonly string[];
  /** fields that take Manila's inexact filter `<field>~` */
  inexactKeys?: readonly string[];
  /** parameters the operation interprets itself */
  customKeys?: readonly string[];
  /** sort keys a client sends under another name (manilaclient's availability_zone_id, display_name) */
  sortAliases?: Readonly<Record<string, string>>;
}

const PAGING_KEYS = ['limit', 'offset', 'sort_key', 'sort_dir', 'all_tenants'];

export type QueryParams = Record<string, string | undefined> | undefined;

function nonNegativeInteger(name: string, value: string): number {
  if (!/^\d{1,15}$/.test(value.trim())) throw badRequest(`Invalid ${name} "${value.slice(0, 40)}": must be an integer ≥ 0.`);
  return Number(value.trim());
}

const TRUE_WORDS = ['1', 'true', 'yes', 'on', 't', 'y'];
const FALSE_WORDS = ['0', 'false', 'no', 'off', 'f', 'n', ''];

export function parseBoolean(name: string, value: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  throw badRequest(`Invalid ${name} "${value.slice(0, 40)}": must be a boolean such as 1 or 0.`);
}

export function parseListQuery(params: QueryParams, spec: ListSpec): ListQuery {
  const p = params ?? {};
  const known = [...PAGING_KEYS, ...spec.filterKeys, ...(spec.inexactKeys ?? []).map((k) => `${k}~`), ...(spec.customKeys ?? [])];
  for (const key of Object.keys(p)) {
    if (p[key] !== undefined && !known.includes(key)) {
      throw badRequest(`Invalid query parameter "${key.slice(0, 60)}": this list accepts ${known.join(', ')}.`);
    }
  }
  const limit = p.limit === undefined ? undefined : Math.min(nonNegativeInteger('limit', p.limit), MAX_LIMIT);
  const offset = p.offset === undefined ? 0 : nonNegativeInteger('offset', p.offset);
  const requestedSortKey = p.sort_key ?? 'created_at';
  const sortKey = spec.sortAliases?.[requestedSortKey] ?? requestedSortKey;
  if (!spec.sortKeys.includes(sortKey)) {
    throw badRequest(`Invalid sort_key "${requestedSortKey.slice(0, 40)}": valid keys are ${[...spec.sortKeys, ...Object.keys(spec.sortAliases ?? {})].join(', ')}.`);
  }
  const sortDirText = (p.sort_dir ?? 'desc').toLowerCase();
  if (sortDirText !== 'asc' && sortDirText !== 'desc') {
    throw badRequest(`Invalid sort_dir "${sortDirText.slice(0, 40)}": valid values are asc, desc.`);
  }
  const filters: Record<string, string> = {};
  for (const key of spec.filterKeys) {
    const value = p[key];
    if (value !== undefined) filters[key] = value;
  }
  const inexact: Record<string, string> = {};
  for (const key of spec.inexactKeys ?? []) {
    const value = p[`${key}~`];
    if (value !== undefined) inexact[key] = value.toLowerCase();
  }
  const custom: Record<string, string> = {};
  for (const key of spec.customKeys ?? []) {
    const value = p[key];
    if (value !== undefined) custom[key] = value;
  }
  const allTenants = p.all_tenants === undefined ? false : parseBoolean('all_tenants', p.all_tenants);
  return { limit, offset, sortKey, sortDir: sortDirText, filters, inexact, allTenants, custom };
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

export interface Page<T> {
  items: T[];
  /** the offset of the next page when the limit was hit (Manila: a next link whenever a page is full) */
  nextOffset: number | undefined;
  /** how many records matched before paging (Manila's `count`, 2.42 with_count) */
  total: number;
}

/** Filters (string equality), sorts (ties broken by id for a stable order) and pages records. */
export function applyListQuery<T extends { id: string }>(records: readonly T[], query: ListQuery): Page<T> {
  const filtered = records.filter((r) =>
    Object.entries(query.filters).every(([key, value]) => {
      const field = (r as Record<string, unknown>)[key];
      return field !== undefined && field !== null && String(field) === value;
    }) && Object.entries(query.inexact).every(([key, value]) => {
      const field = (r as Record<string, unknown>)[key];
      return typeof field === 'string' && field.toLowerCase().includes(value);
    }),
  );
  const sign = query.sortDir === 'asc' ? 1 : -1;
  const sorted = [...filtered].sort((a, b) =>
    sign * (compareValues((a as Record<string, unknown>)[query.sortKey], (b as Record<string, unknown>)[query.sortKey]) || compareValues(a.id, b.id)),
  );
  const end = query.limit === undefined ? undefined : query.offset + query.limit;
  const items = sorted.slice(query.offset, end);
  const nextOffset = query.limit !== undefined && query.limit > 0 && items.length === query.limit ? query.offset + query.limit : undefined;
  return { items, nextOffset, total: filtered.length };
}

/**
 * A dict-valued filter (`metadata`, `extra_specs`): JSON, or the Python dict repr that
 * python-manilaclient sends (base.Manager._build_query_string urlencodes str(dict)), e.g.
 * `{'k': 'v'}`. Keys and values must be strings; anything else is a 400.
 */
export function parseStringDict(name: string, value: string): Record<string, string> {
  const fail = (): never => { throw badRequest(`Invalid ${name} "${value.slice(0, 80)}": expected a dict of strings such as {"key": "value"}.`); };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    const text = value.trim();
    const pair = /\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*:\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*(,|$)/y;
    if (!text.startsWith('{') || !text.endsWith('}')) fail();
    const body = text.slice(1, -1);
    const out: Record<string, string> = {};
    pair.lastIndex = 0;
    while (pair.lastIndex < body.length && body.slice(pair.lastIndex).trim() !== '') {
      const m = pair.exec(body);
      if (!m) fail();
      out[(m![1] ?? m![2])!] = (m![3] ?? m![4])!;
    }
    parsed = out;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail();
  for (const v of Object.values(parsed as Record<string, unknown>)) if (typeof v !== 'string') fail();
  return parsed as Record<string, string>;
}

// List queries (api.md "Lists"): limit, offset, sort_key (whitelisted), sort_dir, equality filters.
// Pure: the repository hands over a project's records, this module filters, orders and pages them.
import { badRequest } from './errors.ts';

export const MAX_LIMIT = 1000;

export interface ListQuery {
  limit: number | undefined;
  offset: number;
  sortKey: string;
  sortDir: 'asc' | 'desc';
  filters: Record<string, string>;
  allTenants: boolean;
}

export interface ListSpec {
  sortKeys: readonly string[];
  filterKeys: readonly string[];
}

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
  const limit = p.limit === undefined ? undefined : Math.min(nonNegativeInteger('limit', p.limit), MAX_LIMIT);
  const offset = p.offset === undefined ? 0 : nonNegativeInteger('offset', p.offset);
  const sortKey = p.sort_key ?? 'created_at';
  if (!spec.sortKeys.includes(sortKey)) {
    throw badRequest(`Invalid sort_key "${sortKey.slice(0, 40)}": valid keys are ${spec.sortKeys.join(', ')}.`);
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
  const allTenants = p.all_tenants === undefined ? false : parseBoolean('all_tenants', p.all_tenants);
  return { limit, offset, sortKey, sortDir: sortDirText, filters, allTenants };
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
}

/** Filters (string equality), sorts (ties broken by id for a stable order) and pages records. */
export function applyListQuery<T extends { id: string }>(records: readonly T[], query: ListQuery): Page<T> {
  const filtered = records.filter((r) =>
    Object.entries(query.filters).every(([key, value]) => {
      const field = (r as Record<string, unknown>)[key];
      return field !== undefined && field !== null && String(field) === value;
    }),
  );
  const sign = query.sortDir === 'asc' ? 1 : -1;
  const sorted = [...filtered].sort((a, b) =>
    sign * (compareValues((a as Record<string, unknown>)[query.sortKey], (b as Record<string, unknown>)[query.sortKey]) || compareValues(a.id, b.id)),
  );
  const end = query.limit === undefined ? undefined : query.offset + query.limit;
  const items = sorted.slice(query.offset, end);
  const nextOffset = query.limit !== undefined && query.limit > 0 && items.length === query.limit ? query.offset + query.limit : undefined;
  return { items, nextOffset };
}

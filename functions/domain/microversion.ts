// Manila microversions: "X-OpenStack-Manila-API-Version: 2.91" (api.md "Common"). Absent means the
// newest; "latest" is Manila's alias for it; outside MIN..MAX is a 406 with the supported range
// (Manila's InvalidGlobalAPIVersion, answered as HTTPNotAcceptable by manila/api/openstack/wsgi.py
// Resource._process_stack), a value that is not a version at all is a 400.
import { ApiError, badRequest } from './errors.ts';

export interface Microversion {
  major: number;
  minor: number;
}

export const MIN_VERSION: Microversion = { major: 2, minor: 0 };
export const MAX_VERSION: Microversion = { major: 2, minor: 91 };
/** share backups arrived in 2.80 */
export const BACKUPS_MIN_VERSION: Microversion = { major: 2, minor: 80 };
/** restore onto another share ("out-of-place restore") arrived in 2.91 */
export const RESTORE_TARGET_MIN_VERSION: Microversion = { major: 2, minor: 91 };

export const VERSION_HEADER = 'X-OpenStack-Manila-API-Version';
export const EXPERIMENTAL_HEADER = 'X-OpenStack-Manila-API-Experimental';

export function formatVersion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

export function compareVersions(a: Microversion, b: Microversion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

export function atLeast(v: Microversion, min: Microversion): boolean {
  return compareVersions(v, min) >= 0;
}

/** Parses the header's value; throws ApiError 400 (malformed) or 406 (unsupported). */
export function parseMicroversion(header: string | undefined): Microversion {
  if (header === undefined) return MAX_VERSION;
  const text = header.trim();
  if (text.toLowerCase() === 'latest') return MAX_VERSION;
  const match = /^(\d{1,4})\.(\d{1,4})$/.exec(text);
  if (!match) {
    throw badRequest(`Invalid ${VERSION_HEADER} "${header.slice(0, 40)}": expected MAJOR.MINOR, e.g. "${formatVersion(MAX_VERSION)}".`);
  }
  const version = { major: Number(match[1]), minor: Number(match[2]) };
  if (compareVersions(version, MIN_VERSION) < 0 || compareVersions(version, MAX_VERSION) > 0) {
    throw new ApiError(406, `Version ${formatVersion(version)} is not supported by the API. Minimum is ${formatVersion(MIN_VERSION)} and maximum is ${formatVersion(MAX_VERSION)}.`);
  }
  return version;
}

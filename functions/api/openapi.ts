// The OpenAPI 3.1 description of the API (GET /v2/openapi.json, no token needed), built from the
// route table (routes.ts) and the very request schemas the handlers validate with (schemas.ts),
// so it cannot drift from what the handlers accept. Response shapes are described here from
// views.ts's fields (additional fields allowed: Manila's versioned extras are not all listed).
// `npm run generate:openapi` writes it to openapi.generated.json and the console's client types
// from it (console/src/api/types.generated.ts); a unit test checks both are current.
import { BACKUP_RESET_STATUSES, BACKUP_STATUSES, RESTORE_STATUSES, SHARE_STATUSES } from '../domain/records.ts';
import { MAX_VERSION, MIN_VERSION, VERSION_HEADER, formatVersion } from '../domain/microversion.ts';
import { ROUTES, type Route } from './routes.ts';
import {
  backupCreateSchema, backupUpdateSchema, resetStatusSchema, resetTaskStateSchema, resizeSchema, restoreOptionsSchema,
  shareCreateSchema, shareUpdateSchema,
} from './schemas.ts';

type Schema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const object = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)): Schema => ({ type: 'object', required, properties });
const nullable = (type: string) => ({ type: [type, 'null'] });
const link = object({ rel: { type: 'string' }, href: { type: 'string' } });

/** Response and body schemas, shared by the operations below. */
const schemas: Record<string, Schema> = {
  Error: {
    type: 'object',
    description: 'One key, the error name (badRequest, itemNotFound, ...), holding the code and the message that says why.',
    minProperties: 1,
    maxProperties: 1,
    additionalProperties: object({ code: { type: 'integer' }, message: { type: 'string' } }),
  },
  Link: link,
  ExportLocation: object({ id: { type: 'string' }, path: { type: 'string' }, preferred: { type: 'boolean' } }),
  ShareSummary: object({ id: { type: 'string' }, name: nullable('string'), links: { type: 'array', items: ref('Link') } }),
  Share: object({
    id: { type: 'string' },
    name: nullable('string'),
    description: nullable('string'),
    status: { type: 'string', enum: [...SHARE_STATUSES] },
    size: { type: 'integer', description: 'GiB' },
    share_proto: { type: 'string', enum: ['NFS', 'CIFS'] },
    project_id: { type: 'string' },
    user_id: { type: 'string' },
    availability_zone: nullable('string'),
    created_at: { type: 'string' },
    updated_at: nullable('string'),
    source_backup_id: nullable('string'),
    task_state: nullable('string'),
    export_locations: { type: 'array', items: ref('ExportLocation') },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    links: { type: 'array', items: ref('Link') },
  }, ['id', 'name', 'description', 'status', 'size', 'share_proto', 'project_id', 'created_at', 'export_locations', 'metadata']),
  ShareBackupSummary: object({ id: { type: 'string' }, name: nullable('string'), share_id: { type: 'string' }, status: { type: 'string', enum: [...BACKUP_STATUSES] } }),
  ShareBackup: object({
    id: { type: 'string' },
    share_id: { type: 'string' },
    status: { type: 'string', enum: [...BACKUP_STATUSES] },
    name: nullable('string'),
    description: nullable('string'),
    size: { type: 'integer', description: 'GiB a restore needs: the declared size, or what it measurably holds if more' },
    availability_zone: nullable('string'),
    created_at: { type: 'string' },
    updated_at: nullable('string'),
    progress: { type: 'string', description: '"0"…"100"' },
    restore_progress: { type: 'string', description: '"0"…"100"' },
    backup_type: { type: 'string', description: 'from 2.85' },
    warnings: { type: 'integer' },
    files: nullable('integer'),
    bytes: nullable('integer'),
    host: { type: 'string', description: 'admin only' },
    topic: { type: 'string', description: 'admin only' },
  }, ['id', 'share_id', 'status', 'name', 'description', 'size', 'created_at', 'progress', 'restore_progress', 'warnings', 'files', 'bytes']),
  ShareRestore: object({
    id: { type: 'string' },
    backup_id: { type: 'string' },
    share_id: { type: 'string', description: 'the share restored into' },
    source_share_id: { type: 'string' },
    status: { type: 'string', enum: [...RESTORE_STATUSES] },
    phase: { type: 'string' },
    files_total: { type: 'integer' },
    files_done: { type: 'integer' },
    bytes_total: { type: 'integer' },
    bytes_done: { type: 'integer' },
    eta_seconds: nullable('number'),
    fail_reason: nullable('string'),
    warnings: { type: 'integer' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    finished_at: nullable('string'),
    execution_id: { type: ['string', 'null'], description: 'admin only' },
  }, ['id', 'backup_id', 'share_id', 'source_share_id', 'status', 'phase', 'files_total', 'files_done', 'bytes_total', 'bytes_done',
    'eta_seconds', 'fail_reason', 'warnings', 'created_at', 'updated_at', 'finished_at']),
  ReportEntry: object({
    seq: { type: 'integer' }, path: { type: 'string' }, what: { type: 'string' }, action: { type: 'string' }, why: { type: 'string' }, moved_to: { type: 'string' },
  }, ['seq', 'path', 'what', 'action', 'why']),
  Report: object({
    report: { type: 'array', items: ref('ReportEntry') },
    warnings: { type: 'integer' },
    truncated: { type: 'boolean' },
    report_links: { type: 'array', items: ref('Link') },
  }, ['report', 'warnings', 'truncated']),
  BackupDriver: object({
    name: { type: 'string' },
    default: { type: 'boolean' },
    support_restore_to_target: { type: 'boolean' },
    backup_protocols: { type: 'array', items: { type: 'string', enum: ['NFS', 'CIFS'] } },
    restore_protocols: { type: 'array', items: { type: 'string', enum: ['NFS', 'CIFS'] } },
  }),
  RestoreAccepted: object({ restore: object({ backup_id: { type: 'string' }, share_id: { type: 'string' }, restore_id: { type: 'string' } }) }),
  Version: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' }, version: { type: 'string' }, min_version: { type: 'string' } } },
  // request bodies: the handlers' own schemas (schemas.ts), wrapped in their resource key
  ShareCreateBody: object({ share: shareCreateSchema }),
  ShareUpdateBody: object({ share: shareUpdateSchema }),
  ShareActionBody: {
    description: 'Exactly one action.',
    oneOf: [
      object({ extend: resizeSchema }), object({ shrink: resizeSchema }), object({ reset_status: resetStatusSchema }),
      object({ reset_task_state: resetTaskStateSchema }),
      object({ 'os-extend': resizeSchema }), object({ 'os-shrink': resizeSchema }), object({ 'os-reset_status': resetStatusSchema }),
    ],
  },
  ShareBackupCreateBody: object({ share_backup: backupCreateSchema }),
  ShareBackupUpdateBody: object({ share_backup: backupUpdateSchema }),
  ShareBackupActionBody: {
    description: `Exactly one action: restore (null: onto the source share; a share id (2.91+) or {"share_id"} (ext): onto that share), or reset_status (admin; ${BACKUP_RESET_STATUSES.join(', ')}).`,
    oneOf: [
      object({ restore: { oneOf: [{ type: 'null' }, { type: 'string' }, restoreOptionsSchema] } }),
      object({ reset_status: resetStatusSchema }),
    ],
  },
  MetadataBody: { type: 'object', properties: { metadata: { type: 'object', additionalProperties: { type: 'string' } } } },
  MetaItemBody: { type: 'object', properties: { meta: { type: 'object', additionalProperties: { type: 'string' } } } },
  ShareType: {
    ...object({
      id: { type: 'string' },
      name: { type: 'string' },
      extra_specs: { type: 'object', additionalProperties: { type: ['string', 'boolean'] }, description: 'a non-admin sees the tenant-visible specs only (and, 2.24+, inferred false snapshot capabilities)' },
      required_extra_specs: { type: 'object', additionalProperties: { type: 'string' } },
    }),
    description: "Manila's share type view: share_type_access:is_public (2.7+; os-share-type-access:is_public before), description (2.41+), is_default (2.46+).",
  },
  ShareTypeCreateBody: {
    description: 'share_type (or volume_type): name (1–255), description (2.41+, ≤ 255), share_type_access:is_public (or os-share-type-access:is_public), extra_specs with driver_handles_share_servers false.',
    type: 'object',
    properties: {
      share_type: object({
        name: { type: 'string', minLength: 1, maxLength: 255 },
        description: { type: ['string', 'null'], maxLength: 255 },
        'share_type_access:is_public': { type: ['boolean', 'string'] },
        'os-share-type-access:is_public': { type: ['boolean', 'string'] },
        extra_specs: { type: ['object', 'null'], additionalProperties: { type: ['string', 'boolean'] } },
      }, ['name']),
    },
  },
  ShareTypeUpdateBody: {
    description: '2.50+: name, description, share_type_access:is_public, or a combination.',
    type: 'object',
    properties: {
      share_type: object({
        name: { type: ['string', 'null'], maxLength: 255 },
        description: { type: ['string', 'null'], maxLength: 255 },
        'share_type_access:is_public': { type: ['boolean', 'string', 'null'] },
      }, []),
    },
  },
  ExtraSpecsBody: object({ extra_specs: { type: 'object', additionalProperties: { type: ['string', 'boolean'] } } }),
  ExtraSpecItemBody: { type: 'object', description: 'Exactly one item: the key in the path.', minProperties: 1, maxProperties: 1, additionalProperties: { type: ['string', 'boolean'] } },
  ShareTypeActionBody: {
    description: 'Exactly one action on a private type.',
    oneOf: [object({ addProjectAccess: object({ project: { type: 'string' } }) }), object({ removeProjectAccess: object({ project: { type: 'string' } }) })],
  },
  ShareTypeAccess: object({ share_type_id: { type: 'string' }, project_id: { type: 'string' } }),
  AnyObject: { type: 'object' },
};

const list = (key: string, item: string) => object({ [key]: { type: 'array', items: ref(item) }, [`${key}_links`]: { type: 'array', items: ref('Link') } }, [key]);
const one = (key: string, item: string) => object({ [key]: ref(item) });

/** What each operation answers on success: [status, schema, description]. */
const RESPONSES: Record<string, [number, Schema | undefined, string]> = {
  listShares: [200, list('shares', 'ShareSummary'), 'The shares'],
  listSharesDetail: [200, list('shares', 'Share'), 'The shares, in detail'],
  createShare: [202, one('share', 'Share'), 'Accepted: the share is being created'],
  showShare: [200, one('share', 'Share'), 'The share'],
  updateShare: [200, one('share', 'Share'), 'The updated share'],
  deleteShare: [202, undefined, 'Accepted: the share is being deleted'],
  shareAction: [202, undefined, 'Accepted'],
  shareExportLocations: [200, object({ export_locations: { type: 'array', items: ref('ExportLocation') } }), 'The share\'s export locations'],
  shareExportLocation: [200, one('export_location', 'ExportLocation'), 'One export location'],
  listBackups: [200, list('share_backups', 'ShareBackupSummary'), 'The backups'],
  listBackupsDetail: [200, list('share_backups', 'ShareBackup'), 'The backups, in detail'],
  createBackup: [202, one('share_backup', 'ShareBackup'), 'Accepted: the backup is being created'],
  showBackup: [200, one('share_backup', 'ShareBackup'), 'The backup'],
  updateBackup: [200, one('share_backup', 'ShareBackup'), 'The updated backup'],
  deleteBackup: [202, undefined, 'Accepted: the backup is being deleted'],
  backupAction: [202, ref('RestoreAccepted'), 'Accepted: a restore answers its ids; reset_status answers no body'],
  showBackupReport: [200, ref('Report'), 'The backup\'s report'],
  listBackupDrivers: [200, object({ backup_drivers: { type: 'array', items: ref('BackupDriver') } }), 'The configured backup drivers'],
  listShareTypes: [200, object({ share_types: { type: 'array', items: ref('ShareType') }, volume_types: { type: 'array', items: ref('ShareType') } }), 'The share types the caller sees'],
  showShareType: [200, object({ share_type: ref('ShareType'), volume_type: ref('ShareType') }), 'The share type'],
  showDefaultShareType: [200, object({ share_type: ref('ShareType'), volume_type: ref('ShareType') }), 'The default share type'],
  createShareType: [200, object({ share_type: ref('ShareType'), volume_type: ref('ShareType') }), 'The created share type'],
  updateShareType: [200, object({ share_type: ref('ShareType'), volume_type: ref('ShareType') }), 'The updated share type (2.50+)'],
  deleteShareType: [202, undefined, 'Accepted: the share type is deleted'],
  shareTypeAction: [202, undefined, 'Accepted: the project access is changed'],
  listShareTypeAccess: [200, object({ share_type_access: { type: 'array', items: ref('ShareTypeAccess') } }), 'The projects a private type is shared with'],
  listShareTypeExtraSpecs: [200, ref('ExtraSpecsBody'), 'The extra specs'],
  createShareTypeExtraSpecs: [200, ref('ExtraSpecsBody'), 'The extra specs set (the request body)'],
  showShareTypeExtraSpec: [200, ref('ExtraSpecItemBody'), 'One extra spec'],
  updateShareTypeExtraSpec: [200, ref('ExtraSpecItemBody'), 'The extra spec set (the request body)'],
  deleteShareTypeExtraSpec: [202, undefined, 'Accepted: the extra spec is deleted'],
  listRestores: [200, list('share_restores', 'ShareRestore'), 'The restores'],
  showRestore: [200, one('share_restore', 'ShareRestore'), 'The restore'],
  showRestoreReport: [200, ref('Report'), 'The restore\'s report'],
};

const BODIES: Record<string, string> = {
  createShare: 'ShareCreateBody',
  updateShare: 'ShareUpdateBody',
  shareAction: 'ShareActionBody',
  createBackup: 'ShareBackupCreateBody',
  updateBackup: 'ShareBackupUpdateBody',
  backupAction: 'ShareBackupActionBody',
  mergeShareMetadata: 'MetadataBody',
  replaceShareMetadata: 'MetadataBody',
  setShareMetadataItem: 'MetaItemBody',
  createShareType: 'ShareTypeCreateBody',
  updateShareType: 'ShareTypeUpdateBody',
  shareTypeAction: 'ShareTypeActionBody',
  createShareTypeExtraSpecs: 'ExtraSpecsBody',
  updateShareTypeExtraSpec: 'ExtraSpecItemBody',
};

const LIST_PARAMETERS = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'at most this many items (a full page carries a next link)' },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'skip this many items' },
  { name: 'sort_key', in: 'query', schema: { type: 'string' } },
  { name: 'sort_dir', in: 'query', schema: { type: 'string', enum: ['asc', 'desc'] } },
  { name: 'all_tenants', in: 'query', schema: { type: 'boolean' }, description: 'admin only: every project' },
];

/** "shares/:id/export_locations/:location_id" → "/v2/shares/{id}/export_locations/{location_id}" */
export function openApiPath(route: Pick<Route, 'pattern'>): string {
  return `/v2/${route.pattern.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s)).join('/')}`;
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });

function operationObject(route: Route, operationId: string): Schema {
  const name = route.operation.name;
  const [status, schema, description] = RESPONSES[name] ?? [route.method === 'GET' ? 200 : 202, ref('AnyObject'), 'Success'];
  const body = BODIES[name] ?? (route.method === 'POST' || route.method === 'PUT' ? 'AnyObject' : undefined);
  const pathParameters = route.pattern.filter((s) => s.startsWith(':')).map((s) => ({
    name: s.slice(1), in: 'path', required: true, schema: { type: 'string' },
  }));
  const isList = route.method === 'GET' && (name.startsWith('list') || name.endsWith('Report')) && name !== 'listBackupDrivers' && name !== 'listShareTypeAccess';
  return {
    operationId,
    tags: [route.resource],
    ...(route.backupApi ? { description: 'Share backup API: microversion 2.80 or later.' } : {}),
    parameters: [{ $ref: '#/components/parameters/Microversion' }, ...pathParameters, ...(isList ? LIST_PARAMETERS : [])],
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(body) } } } } : {}),
    responses: {
      [String(status)]: schema ? { description, content: { 'application/json': { schema } } } : { description },
      400: { $ref: '#/components/responses/BadRequest' },
      401: { $ref: '#/components/responses/Unauthorized' },
      403: { $ref: '#/components/responses/Forbidden' },
      404: { $ref: '#/components/responses/NotFound' },
    },
  };
}

let cached: Schema | undefined;

/** The OpenAPI 3.1 document for every route of routes.ts. */
export function openApiDocument(): Schema {
  if (cached) return cached;
  const paths: Record<string, Record<string, Schema>> = {};
  const used = new Map<string, number>();
  for (const route of ROUTES) {
    const path = openApiPath(route);
    const base = route.operation.name || 'operation';
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    // one operation function may serve several routes (share type changes): ids must be unique
    const operationId = n === 1 ? base : `${base}${n}`;
    (paths[path] ??= {})[route.method.toLowerCase()] = operationObject(route, operationId);
  }
  const versionResponse = (status: string, key: string) => ({
    [status]: { description: 'The API version(s)', content: { 'application/json': { schema: key === 'versions' ? object({ versions: { type: 'array', items: ref('Version') } }) : one('version', 'Version') } } },
  });
  paths['/'] = { get: { operationId: 'listVersions', tags: ['Versions'], security: [], responses: versionResponse('300', 'versions') } };
  paths['/v2'] = { get: { operationId: 'showVersion', tags: ['Versions'], security: [], responses: versionResponse('200', 'version') } };
  paths['/v2/openapi.json'] = {
    get: {
      operationId: 'showOpenApi', tags: ['Versions'], security: [],
      responses: { 200: { description: 'This document', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Share backup service',
      version: formatVersion(MAX_VERSION),
      description: `Manila-compatible shares, share backups and out-of-place restores (microversions ${formatVersion(MIN_VERSION)}–${formatVersion(MAX_VERSION)}). ` +
        'Every path under /v2 is also served under /v2/{project_id}, as Manila\'s are. See docs/api-reference.md.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Also accepted as X-Auth-Token.' } },
      parameters: {
        Microversion: { name: VERSION_HEADER, in: 'header', required: false, schema: { type: 'string', examples: ['2.91'] }, description: 'absent: the newest' },
      },
      responses: {
        BadRequest: errorResponse('The request is refused: the message says why'),
        Unauthorized: errorResponse('No valid token'),
        Forbidden: errorResponse('The caller may not do this'),
        NotFound: errorResponse('No such resource'),
      },
      schemas,
    },
  };
  return cached;
}

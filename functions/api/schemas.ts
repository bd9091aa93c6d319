// Request body schemas (api.md). Body shape problems are 400s whose message names the field; a
// missing top-level resource key is Manila's 422. The schemas are compiled at build time, not in
// the Lambda: functions/validators-generate.ts (`npm run generate`) writes ajv's standalone code of
// API_SCHEMAS into functions/validators.generated.js, and `validator()` hands out those functions,
// so the API never loads ajv (a test fails when the generated file differs from these schemas).
import type { ErrorObject } from 'ajv';
import { badRequest, unprocessable } from '../domain/errors.ts';
import * as compiled from '../validators.generated.js';

// Ids are checked with a strict pattern rather than ajv-formats' "uuid", which also accepts a
// "urn:uuid:" prefix that our keys never carry.

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const name = { type: ['string', 'null'], maxLength: 255 } as const;
const description = { type: ['string', 'null'], maxLength: 1024 } as const;
const size = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;
const id = { type: 'string', pattern: UUID } as const;

export const shareCreateSchema = {
  type: 'object',
  properties: {
    share_proto: { type: 'string', minLength: 1, maxLength: 64 },
    size,
    name, description, display_name: name, display_description: description,
    backup_id: id,
    availability_zone: { type: ['string', 'null'], maxLength: 255 },
    metadata: { type: ['object', 'null'] },
    is_public: { type: 'boolean' },
    share_type: { type: ['string', 'null'], maxLength: 255 },
    volume_type: { type: ['string', 'null'], maxLength: 255 },
  },
} as const;

export const shareUpdateSchema = {
  type: 'object',
  properties: { name, description, display_name: name, display_description: description, is_public: { type: 'boolean' } },
} as const;

export const resizeSchema = { type: 'object', required: ['new_size'], properties: { new_size: size } } as const;
/**
 * Manila's task states (manila/common/constants.py TASK_STATE_STATUSES) and null; its
 * reset_task_state schema (manila/api/schemas/shares.py) takes `task_state` or the older `os-task_state`.
 */
const TASK_STATES = [
  'migration_starting', 'migration_in_progress', 'migration_completing', 'migration_success', 'migration_error', 'migration_cancelled',
  'migration_driver_in_progress', 'migration_driver_phase1_done', 'data_copying_starting', 'data_copying_in_progress',
  'data_copying_completing', 'data_copying_completed', 'data_copying_cancelled', 'data_copying_error', null,
];
const taskState = { type: ['string', 'null'], enum: TASK_STATES } as const;
export const resetTaskStateSchema = { type: 'object', properties: { task_state: taskState, 'os-task_state': taskState } } as const;

export const resetStatusSchema = { type: 'object', required: ['status'], properties: { status: { type: 'string', maxLength: 64 } } } as const;

export const backupCreateSchema = {
  type: 'object',
  required: ['share_id'],
  properties: {
    share_id: id,
    name, description,
    backup_options: {
      type: ['object', 'null'],
      properties: { backup_type: { type: 'string', minLength: 1, maxLength: 255 } },
    },
  },
} as const;

export const backupUpdateSchema = { type: 'object', properties: { name, description } } as const;

/** `{"restore": {...}}` (ext): the target share, or nothing for the source share */
export const restoreOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { share_id: { type: ['string', 'null'] } },
} as const;

/** Every request body schema, by the name of its compiled validator in functions/validators.generated.js. */
export const API_SCHEMAS = {
  shareCreate: shareCreateSchema,
  shareUpdate: shareUpdateSchema,
  resize: resizeSchema,
  resetTaskState: resetTaskStateSchema,
  resetStatus: resetStatusSchema,
  backupCreate: backupCreateSchema,
  backupUpdate: backupUpdateSchema,
  restoreOptions: restoreOptionsSchema,
} as const;

function describe(error: ErrorObject, root: string): string {
  const path = [root, ...error.instancePath.split('/').filter(Boolean)].join('.');
  if (error.keyword === 'required') return `Invalid input for field ${path}: ${String((error.params as { missingProperty: string }).missingProperty)} is required.`;
  if (error.keyword === 'additionalProperties') {
    return `Invalid input for field ${path}: unknown attribute "${String((error.params as { additionalProperty: string }).additionalProperty).slice(0, 60)}".`;
  }
  if (error.keyword === 'pattern' && (error.params as { pattern?: string }).pattern === UUID) {
    return `Invalid input for field ${path}: must be a UUID.`;
  }
  return `Invalid input for field ${path}: ${error.message ?? 'invalid'}.`;
}

export type Validator<T> = (value: unknown, root: string) => T;

/** The compiled validator of one of API_SCHEMAS; the returned function throws a 400 naming the first bad field. */
export function validator<T>(schema: object): Validator<T> {
  const name = (Object.keys(API_SCHEMAS) as (keyof typeof API_SCHEMAS)[]).find((key) => API_SCHEMAS[key] === schema);
  if (name === undefined) throw new Error('validator(): the schema is not one of API_SCHEMAS (functions/api/schemas.ts)');
  const validate = compiled[name];
  return (value, root) => {
    if (!validate(value)) throw badRequest(describe(validate.errors![0]!, root));
    return value as T;
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The resource key of a create/update body: not an object is 400, the key absent is 422. */
export function resourceOf(body: unknown, key: string): unknown {
  if (body === undefined) throw badRequest(`The request needs a JSON body {"${key}": {...}}.`);
  if (!isPlainObject(body)) throw badRequest(`The request body must be a JSON object {"${key}": {...}}.`);
  if (!(key in body)) throw unprocessable(`Unable to process the contained instructions: the body has no "${key}" key.`);
  return body[key];
}

/** An action body: exactly one known key (api.md: an unknown action key or an empty body is 400). */
export function actionOf(body: unknown, known: readonly string[]): { action: string; value: unknown } {
  if (!isPlainObject(body) || Object.keys(body).length === 0) {
    throw badRequest(`The action body must be a JSON object with one of: ${known.join(', ')}.`);
  }
  const keys = Object.keys(body);
  if (keys.length > 1) throw badRequest(`The action body must name exactly one action, not ${keys.length}.`);
  const action = keys[0]!;
  if (!known.includes(action)) throw badRequest(`Unknown action "${action.slice(0, 60)}": valid actions are ${known.join(', ')}.`);
  return { action, value: body[action] };
}

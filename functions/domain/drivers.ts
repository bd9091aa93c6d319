// Backup drivers are configuration, not code (api.md "Backup drivers"): read once at start from
// BACKUP_DRIVERS (JSON) or BACKUP_DRIVERS_FILE (path to JSON); the default is the `nfs` driver.
import { readFileSync } from 'node:fs';
import type { ShareProto } from './records.ts';

export interface BackupDriver {
  name: string;
  use_data_manager: boolean;
  support_restore_to_target: boolean;
  /** protocols of shares this driver backs up */
  backup_protocols: ShareProto[];
  /** protocols of shares this driver restores onto */
  restore_protocols: ShareProto[];
}

export interface DriverConfig {
  default_driver: string;
  drivers: BackupDriver[];
}

export const DEFAULT_DRIVER_CONFIG: DriverConfig = {
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', use_data_manager: false, support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
};

const PROTOCOLS: readonly string[] = ['NFS', 'CIFS'];

/** Validates a driver configuration document; throws with a message naming the bad field. */
export function parseDriverConfig(doc: unknown): DriverConfig {
  const fail = (why: string): never => { throw new Error(`backup driver configuration: ${why}`); };
  if (typeof doc !== 'object' || doc === null) fail('must be a JSON object');
  const { default_driver, drivers } = doc as Record<string, unknown>;
  if (!Array.isArray(drivers) || drivers.length === 0) fail('"drivers" must be a non-empty array');
  const parsed = (drivers as unknown[]).map((d, i): BackupDriver => {
    const r = (typeof d === 'object' && d !== null ? d : fail(`drivers[${i}] must be an object`)) as Record<string, unknown>;
    const protos = (key: string): ShareProto[] => {
      const v = r[key];
      if (!Array.isArray(v) || !v.every((p) => typeof p === 'string' && PROTOCOLS.includes(p.toUpperCase()))) {
        fail(`drivers[${i}].${key} must be an array of ${PROTOCOLS.join(', ')}`);
      }
      return (v as string[]).map((p) => p.toUpperCase() as ShareProto);
    };
    if (typeof r.name !== 'string' || r.name === '') fail(`drivers[${i}].name must be a non-empty string`);
    return {
      name: r.name as string,
      use_data_manager: r.use_data_manager === true,
      support_restore_to_target: r.support_restore_to_target === true,
      backup_protocols: protos('backup_protocols'),
      restore_protocols: protos('restore_protocols'),
    };
  });
  const def = typeof default_driver === 'string' ? default_driver : parsed[0]!.name;
  if (!parsed.some((d) => d.name === def)) fail(`default_driver "${def}" is not among the drivers`);
  return { default_driver: def, drivers: parsed };
}

/** Reads the driver configuration from the environment (see docs/admin-guide.md). */
export function loadDriverConfig(env: NodeJS.ProcessEnv = process.env): DriverConfig {
  if (env.BACKUP_DRIVERS) return parseDriverConfig(JSON.parse(env.BACKUP_DRIVERS));
  if (env.BACKUP_DRIVERS_FILE) return parseDriverConfig(JSON.parse(readFileSync(env.BACKUP_DRIVERS_FILE, 'utf8')));
  return DEFAULT_DRIVER_CONFIG;
}

export function findDriver(config: DriverConfig, name: string | undefined): BackupDriver | undefined {
  return config.drivers.find((d) => d.name === (name ?? config.default_driver));
}

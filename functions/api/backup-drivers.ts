// GET /v2/backup-drivers (ext): the configured backup drivers and what each restores onto, so a
// client (the web console's restore picker) can tell before asking which shares a backup may be
// restored onto (functions/domain/restore-rules.ts). Configuration only: no tenant data.
import { assertMay } from '../domain/policy.ts';
import type { Operation } from './context.ts';

export const listBackupDrivers: Operation = async (ctx) => {
  assertMay(ctx.caller, 'list', 'share_backup:get_all');
  const { drivers } = ctx.deps.settings;
  return {
    status: 200,
    body: {
      backup_drivers: drivers.drivers.map((driver) => ({
        name: driver.name,
        default: driver.name === drivers.default_driver,
        support_restore_to_target: driver.support_restore_to_target,
        backup_protocols: driver.backup_protocols,
        restore_protocols: driver.restore_protocols,
      })),
    },
  };
};

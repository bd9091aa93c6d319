import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIVER_CONFIG, findDriver, loadDriverConfig, parseDriverConfig } from '../../functions/domain/drivers.ts';

describe('backup driver configuration', () => {
  it('defaults to the nfs driver that restores onto other NFS shares', () => {
    const config = loadDriverConfig({});
    expect(config).toEqual(DEFAULT_DRIVER_CONFIG);
    expect(findDriver(config, undefined)?.support_restore_to_target).toBe(true);
  });

  it('reads BACKUP_DRIVERS and normalises protocol names', () => {
    const config = loadDriverConfig({
      BACKUP_DRIVERS: JSON.stringify({
        default_driver: 'legacy',
        drivers: [{ name: 'legacy', support_restore_to_target: false, backup_protocols: ['nfs'], restore_protocols: ['nfs', 'cifs'] }],
      }),
    });
    expect(config.default_driver).toBe('legacy');
    expect(findDriver(config, 'legacy')).toMatchObject({ support_restore_to_target: false, restore_protocols: ['NFS', 'CIFS'] });
    expect(findDriver(config, 'nope')).toBeUndefined();
  });

  it.each([
    [null, 'must be a JSON object'],
    [{ drivers: [] }, '"drivers" must be a non-empty array'],
    [{ drivers: [{ name: 'x', backup_protocols: ['GLUSTER'], restore_protocols: [] }] }, 'backup_protocols'],
    [{ default_driver: 'y', drivers: [{ name: 'x', backup_protocols: [], restore_protocols: [] }] }, 'default_driver "y"'],
  ])('rejects %j', (doc, message) => {
    expect(() => parseDriverConfig(doc)).toThrow(message);
  });
});

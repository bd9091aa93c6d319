// The stage's shareTypes key (issue 20): validated when the app is synthesized, so a configuration
// the API would refuse never deploys; absent, the API runs with its one `default` type.
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { stageConfigFrom } from '../../cdk/config.ts';

const base = { account: '123456789012', region: 'eu-west-1' };

describe('stage configuration: shareTypes', () => {
  it('is absent by default and parsed when given (as JSON text from -c, or as an object from cdk.json)', () => {
    expect(stageConfigFrom(new App({ context: base }).node).shareTypes).toBeUndefined();
    const types = { types: [{ id: '11111111-2222-4333-8444-555555555555', name: 'gold' }] };
    const fromText = stageConfigFrom(new App({ context: { ...base, shareTypes: JSON.stringify(types) } }).node).shareTypes;
    expect(fromText).toMatchObject({ default_type: 'gold', types: [{ name: 'gold', extra_specs: { snapshot_support: 'False' } }] });
    const fromFile = stageConfigFrom(new App({ context: { ...base, stages: { dev: { shareTypes: types } } } }).node).shareTypes;
    expect(fromFile?.types[0]!.name).toBe('gold');
  });

  it('refuses at synth what the API would refuse', () => {
    const bad = { types: [{ id: '11111111-2222-4333-8444-555555555555', name: 'gold', extra_specs: { snapshot_support: 'True' } }] };
    expect(() => stageConfigFrom(new App({ context: { ...base, shareTypes: bad } }).node)).toThrow(/snapshot_support/);
  });
});

describe('stage configuration: tenantPrincipals', () => {
  it('lists IAM role or account ARNs, and is required with tenantCidrs (no one could mount otherwise)', () => {
    expect(stageConfigFrom(new App({ context: base }).node).tenantPrincipals).toEqual([]);
    const role = 'arn:aws:iam::123456789012:role/tenant-instances';
    expect(stageConfigFrom(new App({ context: { ...base, tenantCidrs: '10.0.0.0/16', tenantPrincipals: role } }).node).tenantPrincipals).toEqual([role]);
    expect(() => stageConfigFrom(new App({ context: { ...base, tenantCidrs: '10.0.0.0/16' } }).node)).toThrow(/tenantPrincipals/);
    expect(() => stageConfigFrom(new App({ context: { ...base, tenantPrincipals: 'tenant-instances' } }).node)).toThrow(/not an IAM role or account ARN/);
  });
});

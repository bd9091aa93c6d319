// The Cognito trigger gives tokens the claims the API reads (functions/domain/policy.ts).
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { claimsFor, handler } from '../../cdk/lambda/pre-token-generation.ts';
import { callerFromClaims } from '../../functions/domain/policy.ts';

describe('pre-token generation (v2)', () => {
  it('maps custom:project_id and the role groups to the claims the API parses', () => {
    const claims = claimsFor({ 'custom:project_id': 'p1', email: 'a@b' }, ['member', 'reader', 'some-other-group']);
    expect(claims).toEqual({ project_id: 'p1', roles: 'member,reader' });
    const caller = callerFromClaims({ sub: 'u1', ...claims });
    expect(caller.projectId).toBe('p1');
    expect([...caller.roles].sort()).toEqual(['member', 'reader']);
  });

  it('leaves project_id out for a user without a project, so the API answers 401', () => {
    const claims = claimsFor({}, ['admin']);
    expect(claims).toEqual({ roles: 'admin' });
    expect(() => callerFromClaims({ sub: 'u1', ...claims })).toThrow();
  });

  it('puts the claims into both the ID and the access token', async () => {
    const event = {
      version: '2', triggerSource: 'TokenGeneration_Authentication', region: 'eu-west-1', userPoolId: 'pool', userName: 'u',
      callerContext: { awsSdkVersion: '', clientId: 'c' },
      request: { userAttributes: { 'custom:project_id': 'p2' }, groupConfiguration: { groupsToOverride: ['admin'] } },
      response: { claimsAndScopeOverrideDetails: {} },
    } as unknown as PreTokenGenerationV2TriggerEvent;
    const out = await handler(event);
    const details = out.response.claimsAndScopeOverrideDetails;
    expect(details.idTokenGeneration?.claimsToAddOrOverride).toEqual({ project_id: 'p2', roles: 'admin' });
    expect(details.accessTokenGeneration?.claimsToAddOrOverride).toEqual({ project_id: 'p2', roles: 'admin' });
  });
});

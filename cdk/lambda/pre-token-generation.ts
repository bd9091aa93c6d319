// Cognito pre-token-generation trigger (event version 2): gives Cognito's ID and access tokens the
// same claims the local identity mints and functions/domain/policy.ts reads, so one mapping serves
// both: `project_id` from the user's custom:project_id attribute, `roles` from the user's groups
// (reader, member, admin) as a comma-separated string, one of the forms parseRoles accepts.
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';

/** The roles the API knows; any other group a user is in is not a role and is not passed on. */
export const ROLE_GROUPS = ['reader', 'member', 'admin'] as const;

export const PROJECT_ATTRIBUTE = 'custom:project_id';

export function claimsFor(userAttributes: Record<string, string>, groups: readonly string[]): Record<string, string> {
  const claims: Record<string, string> = {};
  const projectId = userAttributes[PROJECT_ATTRIBUTE];
  // without a project the API answers 401: better than a token naming an empty project
  if (projectId) claims.project_id = projectId;
  claims.roles = groups.filter((g) => (ROLE_GROUPS as readonly string[]).includes(g)).join(',');
  return claims;
}

export async function handler(event: PreTokenGenerationV2TriggerEvent): Promise<PreTokenGenerationV2TriggerEvent> {
  const claims = claimsFor(event.request.userAttributes, event.request.groupConfiguration.groupsToOverride ?? []);
  event.response = {
    claimsAndScopeOverrideDetails: {
      idTokenGeneration: { claimsToAddOrOverride: claims },
      accessTokenGeneration: { claimsToAddOrOverride: claims },
    },
  };
  return event;
}

// The AWS SDK's default credential chain as the API Lambda's bundle has it (cdk/api-bundle.ts
// aliases @aws-sdk/credential-provider-node to this module). Lambda gives a function its role's
// credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which is the
// first link the SDK's chain tries and the one it always takes there; the other links (SSO, ini
// and process profiles, web identity, container and instance metadata) never apply in Lambda, yet
// they brought the STS, SSO and sign-in clients into the bundle (a sixth of it). Run from source
// (npm start, the tests), the handler keeps the SDK's full chain: only the bundle uses this.
import type { AwsCredentialIdentity } from '@smithy/types';

/** Same signature as @aws-sdk/credential-provider-node's defaultProvider (its init is not needed). */
export function defaultProvider(_init?: unknown): () => Promise<AwsCredentialIdentity> {
  return async () => {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_CREDENTIAL_EXPIRATION: expiration } = process.env;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error('AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (the API bundle reads only the environment Lambda provides)');
    }
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), ...(expiration ? { expiration: new Date(expiration) } : {}) };
  };
}

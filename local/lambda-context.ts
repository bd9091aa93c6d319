// The Lambda context object handlers receive; locally only its identifying fields and a generous
// deadline carry meaning.
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './env.ts';

export function lambdaFunctionArn(functionName: string, region = LOCAL_REGION, accountId = LOCAL_ACCOUNT_ID): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
}

export function lambdaContext(functionName: string, awsRequestId: string = randomUUID(), timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = () => {
    throw new Error('callback-style completion is not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: lambdaFunctionArn(functionName),
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${functionName}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

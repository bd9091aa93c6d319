// Starts one in-memory DynamoDB Local for the whole test run and provides its endpoint
// (inject('dynamodbEndpoint')). Each stack a test starts uses its own table prefix on it.
// Several projects list this file; they share one engine through a process-wide reference count,
// because vitest loads the file once per project.
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type RunningDynamoDbLocal } from '../../local/dynamodb-local.ts';

interface SharedEngine {
  engine: Promise<RunningDynamoDbLocal>;
  users: number;
}

const KEY = Symbol.for('share-backup.test.dynamodb-local');
type WithEngine = typeof globalThis & { [KEY]?: SharedEngine };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const holder = globalThis as WithEngine;
  // an endpoint from outside (a running DynamoDB Local) spares the start
  const external = process.env.TEST_DYNAMODB_ENDPOINT;
  if (external) {
    project.provide('dynamodbEndpoint', external);
    return async () => undefined;
  }
  holder[KEY] ??= { engine: startDynamoDbLocal({}), users: 0 };
  const shared = holder[KEY];
  shared.users += 1;
  const engine = await shared.engine;
  project.provide('dynamodbEndpoint', engine.endpoint);
  return async () => {
    shared.users -= 1;
    if (shared.users === 0) {
      delete holder[KEY];
      await engine.stop();
    }
  };
}

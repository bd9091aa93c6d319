// Test projects: unit (pure, fast), integration (the local stack against one shared in-memory
// DynamoDB Local), cdk (synthesis), e2e. The global setup starts DynamoDB Local only when an
// integration or e2e file is selected, and only once for both (see global-setup.ts).
import { defineConfig } from 'vitest/config';

const dynamoDbSetup = 'test/integration/global-setup.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    // two cores: more workers only make the Java engine and the copiers fight for them
    maxWorkers: 2,
    // The timeouts below catch a hang; they are not speed limits (npm run bench measures speed).
    // The copier's unit tests do real I/O on real trees: 30 s leaves room for a loaded machine.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: [dynamoDbSetup],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      { extends: true, test: { name: 'cdk', include: ['test/cdk/**/*.test.ts'], testTimeout: 60_000 } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: [dynamoDbSetup],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

declare module 'vitest' {
  interface ProvidedContext {
    /** the shared DynamoDB Local of this test run (test/integration/global-setup.ts) */
    dynamodbEndpoint: string;
  }
}

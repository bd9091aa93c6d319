// What the API Lambda's bundle has in place of @smithy/core/event-streams (cdk/api-bundle.ts aliases
// it here). The SDK's HTTP protocols import event-stream support lazily, only for an operation whose
// input or output is an event stream; none of the operations the API calls (DynamoDB items and
// transactions, Step Functions StartExecution, EFS access points) has one, yet esbuild inlines the
// lazy import (15 kB). Should one ever be called, it fails with this message instead of silently.
const unsupported = (): never => {
  throw new Error('AWS SDK event streams are not bundled into the API Lambda (functions/api/no-event-streams.ts)');
};

export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}

export const eventStreamSerdeProvider = unsupported;

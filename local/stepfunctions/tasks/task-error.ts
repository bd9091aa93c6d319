// How a Task state fails: aws-local-stepfunctions matches Retry/Catch on the thrown error's `name`
// and hands a Catch `{Error: name, Cause: message}`, so the name is the Step Functions error name
// (e.g. DynamoDB.ConditionalCheckFailedException) and the message is the Cause, as on AWS.
export class TaskError extends Error {
  constructor(errorName: string, cause: string) {
    super(cause);
    this.name = errorName;
  }
}

/** A local Task handler: receives the state's resolved Parameters, returns the integration's result. */
export type TaskHandler = (parameters: unknown) => Promise<unknown>;

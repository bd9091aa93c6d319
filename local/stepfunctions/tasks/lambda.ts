// lambda:invoke: calls the in-process handler registered under the FunctionName, as the optimized
// integration does: the result is {Payload, StatusCode}; a function error fails the state with
// Error = the error's name and Cause = the JSON Lambda reports ({errorType, errorMessage, ...}).
import { TaskError, type TaskHandler } from './task-error.ts';

export const LAMBDA_RESOURCE = 'arn:aws:states:::lambda:invoke';

export type LocalLambdaHandler = (payload: unknown) => Promise<unknown>;

interface InvokeParameters {
  FunctionName?: unknown;
  Payload?: unknown;
}

/** Round-trips through JSON as the Lambda service does, so handlers see exactly what AWS would send. */
const overTheWire = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

export function lambdaInvokeTask(handlers: Record<string, LocalLambdaHandler>): TaskHandler {
  return async (parameters) => {
    const { FunctionName, Payload } = (parameters ?? {}) as InvokeParameters;
    const fn = typeof FunctionName === 'string' ? handlers[FunctionName] : undefined;
    if (!fn) {
      throw new TaskError('Lambda.ResourceNotFoundException', `Function not found: ${String(FunctionName)}`);
    }
    let result: unknown;
    try {
      result = await fn(overTheWire(Payload ?? {}));
    } catch (err) {
      const errorType = err instanceof Error && err.name ? err.name : 'Error';
      const errorMessage = err instanceof Error ? err.message : String(err);
      const stackTrace = err instanceof Error && err.stack ? err.stack.split('\n').slice(1).map((l) => l.trim()) : [];
      throw new TaskError(errorType, JSON.stringify({ errorType, errorMessage, trace: stackTrace }));
    }
    return { ExecutedVersion: '$LATEST', Payload: overTheWire(result) ?? null, StatusCode: 200 };
  };
}

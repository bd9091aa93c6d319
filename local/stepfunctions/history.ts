// Maps aws-local-stepfunctions' event log onto Step Functions' GetExecutionHistory events, so
// `aws stepfunctions get-execution-history`-style tooling reads the local history unchanged.
import type { StateMachine } from 'aws-local-stepfunctions';

export type EngineEvent = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface HistoryEventBody {
  /** epoch milliseconds (the wire format converts to seconds) */
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface HistoryEvent extends HistoryEventBody {
  id: number;
  previousEventId: number;
}

const json = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v ?? null));
const causeText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v ?? ''));

/** One engine event as a history event without id; undefined for engine-only events (retried, caught). */
export function toHistoryEvent(event: EngineEvent, resource?: (stateName: string) => string | undefined): HistoryEventBody | undefined {
  const timestamp = event.timestamp;
  switch (event.type) {
    case 'ExecutionStarted':
      return { timestamp, type: 'ExecutionStarted', executionStartedEventDetails: { input: json(event.input), inputDetails: { truncated: false } } };
    case 'ExecutionSucceeded':
      return { timestamp, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: json(event.output), outputDetails: { truncated: false } } };
    case 'ExecutionFailed':
      return { timestamp, type: 'ExecutionFailed', executionFailedEventDetails: { error: event.Error, cause: causeText(event.Cause) } };
    case 'ExecutionAborted':
      return { timestamp, type: 'ExecutionAborted', executionAbortedEventDetails: {} };
    case 'ExecutionTimeout':
      return { timestamp, type: 'ExecutionTimedOut', executionTimedOutEventDetails: {} };
    case 'StateEntered':
      return { timestamp, type: `${event.state.type}StateEntered`, stateEnteredEventDetails: { name: event.state.name, input: json(event.state.input), inputDetails: { truncated: false } } };
    case 'StateExited':
      return { timestamp, type: `${event.state.type}StateExited`, stateExitedEventDetails: { name: event.state.name, output: json(event.state.output), outputDetails: { truncated: false } } };
    case 'StateFailed':
      if (event.state.type !== 'Task') return undefined;
      return {
        timestamp, type: 'TaskFailed',
        taskFailedEventDetails: { resourceType: 'local', resource: resource?.(event.state.name) ?? event.state.name, error: event.Error, cause: causeText(event.Cause) },
      };
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      return { timestamp, type: event.type, [`${event.type.charAt(0).toLowerCase()}${event.type.slice(1)}EventDetails`]: { name: event.parentState.name, index: event.index } };
    default:
      return undefined;
  }
}

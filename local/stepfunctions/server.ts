// The local Step Functions: an HTTP server speaking the Step Functions JSON 1.0 protocol, so
// @aws-sdk/client-sfn works unchanged against it, running the ASL files with
// aws-local-stepfunctions and performing each Task state for real (see tasks/). Executions are
// kept under <dataDir>/stepfunctions/ so a restart keeps their history.
import './promise-with-resolvers.ts';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { findTaskStates, loadStateMachines, type LoadedStateMachine } from './definitions.ts';
import { ExecutionStore, type ExecutionRecord } from './executions.ts';
import { toHistoryEvent } from './history.ts';
import { DYNAMODB_RESOURCES, dynamodbTask } from './tasks/dynamodb.ts';
import { ChildProcessGroup, ECS_RESOURCES, LocalEcs } from './tasks/ecs.ts';
import { LAMBDA_RESOURCE, lambdaInvokeTask, type LocalLambdaHandler } from './tasks/lambda.ts';
import type { TaskHandler } from './tasks/task-error.ts';

export interface StepFunctionsFacadeOptions {
  host?: string;
  /** 0 = pick a free port */
  port: number;
  /** absolute path of statemachine/ */
  definitionsDir: string;
  /** ${Name} -> value */
  substitutions: Record<string, string>;
  /** state machine ARN = arn:aws:states:<region>:<account>:stateMachine:<file basename without .asl.json> */
  region: string;
  accountId: string;
  /** executions persisted under <dataDir>/stepfunctions/ so a restart keeps history */
  dataDir: string;
  /** by FunctionName (the ARN substituted for ${WorkflowFunctionArn}) */
  lambdaHandlers: Record<string, LocalLambdaHandler>;
  /** DynamoDB Local */
  dynamodbEndpoint: string;
  /** EFS volume mapping: "local-shares" -> <root>/shares/<accessPointId>, "local-backups" -> <root>/backups/<accessPointId> */
  localStorageRoot: string;
  /** e.g. [process.execPath, '--import', 'tsx', '<abs>/copier/main.ts'] */
  copierCommand: string[];
  /** extra env for the copier child (AWS endpoint/creds) */
  copierEnv: Record<string, string>;
  /** told of every failed write of the execution history (e.g. ENOSPC), after it is logged */
  onDataWriteFailure?: (err: unknown) => void;
}

export interface StepFunctionsFacade {
  endpoint: string;
  stateMachineArns: Record<string, string>;
  /** the in-memory ECS (task definitions), for inspection */
  ecs: LocalEcs;
  stop(): Promise<void>;
}

/** A Step Functions API error: HTTP 400 with {"__type", "message"}, as the SDK expects. */
class ApiError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

interface RunningExecution {
  abort: () => void;
  children: ChildProcessGroup;
  settled: Promise<void>;
}

const EXECUTION_NAME = /^[A-Za-z0-9_.:-]{1,80}$/;
const toEpochSeconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

export async function startStepFunctionsFacade(opts: StepFunctionsFacadeOptions): Promise<StepFunctionsFacade> {
  const machines = loadStateMachines(opts.definitionsDir, opts.substitutions, opts.region, opts.accountId);
  // Validate every definition up front (the engine's constructor runs asl-validator).
  const engines = new Map<string, StateMachine>();
  for (const m of machines.values()) engines.set(m.arn, new StateMachine(structuredClone(m.definition)));

  const dynamodb = new DynamoDBClient({
    endpoint: opts.dynamodbEndpoint,
    region: opts.region,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
  });
  const ecs = new LocalEcs(opts);
  const store = new ExecutionStore(opts.dataDir, opts.onDataWriteFailure);
  const running = new Map<string, RunningExecution>();
  let stopping = false;

  function taskHandlers(machine: LoadedStateMachine, children: ChildProcessGroup): Record<string, TaskHandler> {
    const handlers: Record<string, TaskHandler> = {};
    for (const { name, resource } of findTaskStates(machine.definition as never)) {
      if (resource in DYNAMODB_RESOURCES) handlers[name] = dynamodbTask(dynamodb, DYNAMODB_RESOURCES[resource as keyof typeof DYNAMODB_RESOURCES]);
      else if (resource === LAMBDA_RESOURCE) handlers[name] = lambdaInvokeTask(opts.lambdaHandlers);
      else if (resource === ECS_RESOURCES.register) handlers[name] = async (p) => ecs.registerTaskDefinition(p as never);
      else if (resource === ECS_RESOURCES.deregister) handlers[name] = async (p) => ecs.deregisterTaskDefinition(p as never);
      else if (resource === ECS_RESOURCES.runTaskSync) handlers[name] = ecs.runTaskSync(children);
      else throw new Error(`state machine ${machine.name}, state ${name}: resource ${resource} has no local implementation`);
    }
    return handlers;
  }

  function run(record: ExecutionRecord): void {
    const machine = machines.get(record.stateMachineArn);
    const engine = engines.get(record.stateMachineArn);
    if (!machine || !engine) {
      store.finish(record, 'FAILED', { error: 'States.Runtime', cause: `state machine ${record.stateMachineArn} no longer exists` });
      return;
    }
    const children = new ChildProcessGroup();
    const resources = new Map(findTaskStates(machine.definition as never).map((t) => [t.name, t.resource]));
    const execution = engine.run(JSON.parse(record.input) as never, {
      overrides: { taskResourceLocalHandlers: taskHandlers(machine, children) as never },
      context: {
        Execution: { Id: record.executionArn, Name: record.name, RoleArn: `arn:aws:iam::${opts.accountId}:role/local-stepfunctions` },
        StateMachine: { Id: machine.arn, Name: machine.name },
        // The engine keeps one context object for the whole run; a getter gives $$.State.EnteredTime
        // the time the state reads it, which is when it was entered (parameters resolve on entry).
        State: { get EnteredTime() { return new Date().toISOString(); } },
      },
    });
    const pumpEvents = (async () => {
      for await (const event of execution.eventLogs) {
        if (stopping && !record.stopRequested) continue;
        const mapped = toHistoryEvent(event, (name) => resources.get(name));
        if (mapped) store.appendEvent(record, mapped);
      }
    })();
    const outcome = execution.result.then(
      (output: unknown) => ({ status: 'SUCCEEDED' as const, output: JSON.stringify(output ?? null) }),
      (err: unknown) => {
        if (err instanceof ExecutionAbortedError) return { status: 'ABORTED' as const };
        if (err instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT' as const, error: 'States.Timeout', cause: 'The execution timed out.' };
        const failure = err instanceof ExecutionError && err.cause instanceof Error ? err.cause : err instanceof Error ? err : new Error(String(err));
        return { status: 'FAILED' as const, error: failure.name, cause: failure.message };
      },
    );
    const settled = Promise.all([outcome, pumpEvents]).then(([result]) => {
      running.delete(record.executionArn);
      // Stopped by the facade's own shutdown: stays RUNNING on disk and is run again on restart.
      if (stopping && !record.stopRequested) return;
      if (record.status !== 'RUNNING') return; // StopExecution already closed it
      store.finish(record, result.status, result);
    });
    running.set(record.executionArn, { abort: execution.abort, children, settled });
  }

  // ---- API operations -----------------------------------------------------------------------
  const machineOf = (arn: unknown): LoadedStateMachine => {
    const m = typeof arn === 'string' ? machines.get(arn) : undefined;
    if (!m) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(arn)}'`);
    return m;
  };
  const executionOf = (arn: unknown): ExecutionRecord => {
    const e = typeof arn === 'string' ? store.get(arn) : undefined;
    if (!e) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return e;
  };
  const page = <T>(items: T[], req: Record<string, unknown>) => {
    const start = typeof req.nextToken === 'string' ? Number.parseInt(req.nextToken, 10) || 0 : 0;
    const max = typeof req.maxResults === 'number' && req.maxResults > 0 ? Math.min(req.maxResults, 1000) : 100;
    const slice = items.slice(start, start + max);
    return { items: slice, nextToken: start + max < items.length ? String(start + max) : undefined };
  };

  const operations: Record<string, (req: Record<string, unknown>) => Promise<unknown> | unknown> = {
    StartExecution(req) {
      const machine = machineOf(req.stateMachineArn);
      const name = req.name === undefined ? randomUUID() : req.name;
      if (typeof name !== 'string' || !EXECUTION_NAME.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${String(name)}'`);
      const input = req.input === undefined ? '{}' : req.input;
      let parsedInput: unknown;
      try {
        if (typeof input !== 'string') throw new Error('not a string');
        parsedInput = JSON.parse(input);
      } catch {
        throw new ApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: the input must be a JSON text');
      }
      const executionArn = `arn:aws:states:${opts.region}:${opts.accountId}:execution:${machine.name}:${name}`;
      const existing = store.get(executionArn);
      if (existing) {
        // As AWS: the same name with the same input answers the original start; anything else is a conflict.
        if (isDeepStrictEqual(JSON.parse(existing.input), parsedInput)) return { executionArn, startDate: toEpochSeconds(existing.startDate) };
        throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      }
      const record = store.create({ executionArn, stateMachineArn: machine.arn, name, input: input as string });
      run(record);
      return { executionArn, startDate: toEpochSeconds(record.startDate) };
    },
    DescribeExecution(req) {
      const e = executionOf(req.executionArn);
      return {
        executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status,
        startDate: toEpochSeconds(e.startDate), stopDate: toEpochSeconds(e.stopDate),
        input: e.input, inputDetails: { included: true },
        ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
        ...(e.error !== undefined ? { error: e.error } : {}),
        ...(e.cause !== undefined ? { cause: e.cause } : {}),
      };
    },
    GetExecutionHistory(req) {
      const e = executionOf(req.executionArn);
      const includeData = req.includeExecutionData !== false;
      let events = e.events.map((ev) => ({ ...ev, timestamp: toEpochSeconds(ev.timestamp) }));
      if (!includeData) events = events.map((ev) => JSON.parse(JSON.stringify(ev, (k, v: unknown) => (['input', 'output'].includes(k) ? undefined : v))) as typeof ev);
      if (req.reverseOrder === true) events.reverse();
      const { items, nextToken } = page(events, req);
      return { events: items, nextToken };
    },
    ListExecutions(req) {
      const machine = machineOf(req.stateMachineArn);
      const filter = typeof req.statusFilter === 'string' ? req.statusFilter : undefined;
      const all = store.list()
        .filter((e) => e.stateMachineArn === machine.arn && (!filter || e.status === filter))
        .sort((a, b) => b.startDate - a.startDate)
        .map((e) => ({
          executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status,
          startDate: toEpochSeconds(e.startDate), stopDate: toEpochSeconds(e.stopDate),
        }));
      const { items, nextToken } = page(all, req);
      return { executions: items, nextToken };
    },
    async StopExecution(req) {
      const e = executionOf(req.executionArn);
      if (e.status === 'RUNNING') {
        e.stopRequested = true;
        store.finish(e, 'ABORTED', {
          error: typeof req.error === 'string' ? req.error : undefined,
          cause: typeof req.cause === 'string' ? req.cause : undefined,
        });
        const r = running.get(e.executionArn);
        if (r) {
          r.abort();
          await r.children.stopAll();
        }
      }
      return { stopDate: toEpochSeconds(e.stopDate ?? Date.now()) };
    },
    ListStateMachines(req) {
      const all = [...machines.values()].map((m) => ({ stateMachineArn: m.arn, name: m.name, type: 'STANDARD', creationDate: toEpochSeconds(m.creationDate.getTime()) }));
      const { items, nextToken } = page(all, req);
      return { stateMachines: items, nextToken };
    },
    DescribeStateMachine(req) {
      const m = machineOf(req.stateMachineArn);
      return {
        stateMachineArn: m.arn, name: m.name, status: 'ACTIVE', definition: m.definitionText, type: 'STANDARD',
        roleArn: `arn:aws:iam::${opts.accountId}:role/local-stepfunctions`, creationDate: toEpochSeconds(m.creationDate.getTime()),
      };
    },
  };

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  function reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': Buffer.byteLength(text), 'x-amzn-RequestId': randomUUID() });
    res.end(text);
  }

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const target = String(req.headers['x-amz-target'] ?? '');
        const op = target.startsWith('AWSStepFunctions.') ? operations[target.slice('AWSStepFunctions.'.length)] : undefined;
        if (req.method !== 'POST' || !op) throw new ApiError('UnknownOperationException', `Unsupported operation: ${target || `${req.method} ${req.url}`}`);
        const text = await readBody(req);
        let body: unknown;
        try {
          body = text === '' ? {} : JSON.parse(text);
        } catch {
          throw new ApiError('SerializationException', 'request body is not JSON');
        }
        reply(res, 200, await op((body ?? {}) as Record<string, unknown>));
      } catch (err) {
        if (err instanceof ApiError) reply(res, err.status, { __type: err.type, message: err.message });
        else reply(res, 500, { __type: 'InternalFailure', message: err instanceof Error ? err.message : String(err) });
      }
    })();
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  // Executions that were running when the facade last stopped run again from their start: every
  // workflow step is idempotent (conditions keyed on the run's id), as a redrive relies on.
  for (const record of store.list().filter((e) => e.status === 'RUNNING')) run(record);

  return {
    endpoint: `http://${host}:${port}`,
    stateMachineArns: Object.fromEntries([...machines.values()].map((m) => [m.name, m.arn])),
    ecs,
    async stop() {
      stopping = true;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      const all = [...running.values()];
      for (const r of all) r.abort();
      await Promise.all(all.map((r) => r.children.stopAll()));
      await Promise.all(all.map((r) => r.settled.catch(() => undefined)));
      store.flush();
      store.close();
      dynamodb.destroy();
    },
  };
}

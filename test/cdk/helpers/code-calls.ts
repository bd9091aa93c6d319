// The AWS calls the code makes, found in the source rather than listed by hand, so a new call
// without a case in the IAM proof fails the proof:
// - SDK commands and paginators imported from @aws-sdk/client-* and @aws-sdk/lib-dynamodb in
//   functions/ and copier/ (GetCommand, TransactWriteCommand, paginateScan, CreateAccessPointCommand, ...);
// - the raw DynamoDB requests of copier/progress/dynamodb-http.ts (sent through
//   functions/adapters/aws-http.ts), by their X-Amz-Target;
// - the Task states of statemachine/*.asl.json by Resource (and DynamoDB table), and what the
//   copier task definition they register makes AWS do on the copier's behalf (image pull, log
//   stream, EFS mounts through access points with IAM authorization).
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Who makes a call: the role it is authorized against. */
export type Caller = 'api' | 'workflowFunction' | 'preTokenGeneration' | 'stateMachine' | 'copierTask' | 'copierExecution';

export interface CodeCall {
  caller: Caller;
  /** "service:Operation" as IAM names the action, plus a qualifier where the code names one (a table, a file system) */
  call: string;
  /** where it was found */
  source: string;
}

/** SDK client package → IAM service prefix. */
const SERVICE_PREFIX: Record<string, string> = { dynamodb: 'dynamodb', efs: 'elasticfilesystem', sfn: 'states', ecs: 'ecs', ecr: 'ecr', logs: 'logs' };

/** @aws-sdk/lib-dynamodb's document commands → the DynamoDB operation they send. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: 'GetItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', Query: 'Query', Scan: 'Scan',
  BatchGet: 'BatchGetItem', BatchWrite: 'BatchWriteItem', TransactGet: 'TransactGetItems', TransactWrite: 'TransactWriteItems',
  ExecuteStatement: 'ExecuteStatement', BatchExecuteStatement: 'BatchExecuteStatement', ExecuteTransaction: 'ExecuteTransaction',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function callerOf(root: string, file: string): Caller {
  const path = relative(root, file);
  if (path.startsWith('copier/')) return 'copierTask';
  if (path.startsWith('functions/workflow/')) return 'workflowFunction';
  if (path.startsWith('cdk/lambda/')) return 'preTokenGeneration';
  return 'api';
}

/** SDK commands and paginators imported by the Lambdas' and the copier's code. */
export function sdkCalls(root: string): CodeCall[] {
  const calls: CodeCall[] = [];
  const files = [...sourceFiles(join(root, 'functions')), ...sourceFiles(join(root, 'copier')), ...sourceFiles(join(root, 'cdk/lambda'))];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/(client-([a-z0-9-]+)|lib-dynamodb)'/g)) {
      const names = match[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!).filter(Boolean);
      const documentClient = match[2] === 'lib-dynamodb';
      const prefix = documentClient ? 'dynamodb' : SERVICE_PREFIX[match[3]!];
      for (const name of names) {
        const command = name.match(/^(\w+)Command$/)?.[1] ?? name.match(/^paginate(\w+)$/)?.[1];
        if (!command || command === 'Command') continue;
        if (!prefix) throw new Error(`${relative(root, file)}: ${name} of @aws-sdk/${match[2]}: no IAM service prefix known`);
        const operation = documentClient ? DOCUMENT_COMMANDS[command] : command;
        if (!operation) throw new Error(`${relative(root, file)}: ${name}: no DynamoDB operation known`);
        calls.push({ caller: callerOf(root, file), call: `${prefix}:${operation}`, source: `${relative(root, file)} ${name}` });
      }
    }
    for (const match of text.matchAll(/'DynamoDB_20120810\.(\w+)'/g)) {
      calls.push({ caller: callerOf(root, file), call: `dynamodb:${match[1]}`, source: `${relative(root, file)} X-Amz-Target ${match[0]}` });
    }
    calls.push(...awsHttpCalls(root, file, text));
  }
  return calls;
}

// The API's AWS calls over functions/adapters/aws-http.ts (no SDK client, so no Command to find):
// the JSON-protocol targets it names, the DynamoDB operations its repository passes to call() and
// pages(), and the EFS REST requests by method and path.
const EFS_REST_OPERATIONS: Record<string, string> = {
  'POST ACCESS_POINTS': 'CreateAccessPoint',
  'DELETE ACCESS_POINTS/': 'DeleteAccessPoint',
  'GET ACCESS_POINTS': 'DescribeAccessPoints',
};

function awsHttpCalls(root: string, file: string, text: string): CodeCall[] {
  const calls: CodeCall[] = [];
  const at = relative(root, file);
  for (const match of text.matchAll(/'AWSStepFunctions\.(\w+)'/g)) {
    calls.push({ caller: callerOf(root, file), call: `states:${match[1]}`, source: `${at} X-Amz-Target ${match[0]}` });
  }
  if (/new AwsHttpClient\(DYNAMODB\)/.test(text)) {
    for (const match of text.matchAll(/\b(?:call|pages)(?:<[^>(]*>)?\('([A-Z]\w+)'/g)) {
      calls.push({ caller: callerOf(root, file), call: `dynamodb:${match[1]}`, source: `${at} ${match[0]}` });
    }
  }
  for (const match of text.matchAll(/\.rest(?:<[^>(]*>)?\('([A-Z]+)',\s*`?(?:\$\{)?(\w+)\}?(\/)?/g)) {
    const key = `${match[1]} ${match[2]}${match[3] ?? ''}`;
    const operation = EFS_REST_OPERATIONS[key];
    if (!operation) throw new Error(`${at}: ${match[0]}: no EFS operation known for ${key} (add it to EFS_REST_OPERATIONS)`);
    calls.push({ caller: callerOf(root, file), call: `elasticfilesystem:${operation}`, source: `${at} ${match[0]}` });
  }
  return calls;
}

type State = { Type: string; Resource?: string; Parameters?: Record<string, unknown>; Arguments?: Record<string, unknown>; States?: Record<string, State>; Branches?: { States: Record<string, State> }[]; ItemProcessor?: { States: Record<string, State> }; Iterator?: { States: Record<string, State> } };

export interface TaskState {
  machine: string;
  name: string;
  resource: string;
  parameters: Record<string, unknown>;
}

export function taskStates(machine: string, definition: { States: Record<string, State> }): TaskState[] {
  const found: TaskState[] = [];
  const walk = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task' && state.Resource) found.push({ machine, name, resource: state.Resource, parameters: state.Parameters ?? state.Arguments ?? {} });
      for (const branch of state.Branches ?? []) walk(branch.States);
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) walk(inner.States);
    }
  };
  walk(definition.States);
  return found;
}

const lowerFirst = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/**
 * The calls a state machine's Task states make (as its role), and, for a task definition it
 * registers, what ECS does with the copier's roles. Qualifiers are the ASL's own ${Substitution}
 * names, which the proof resolves through the deployed definition's substitutions.
 */
export function aslCalls(root: string, machines: readonly string[]): CodeCall[] {
  const calls: CodeCall[] = [];
  for (const machine of machines) {
    const source = `statemachine/${machine}.asl.json`;
    const definition = JSON.parse(readFileSync(join(root, source), 'utf8')) as { States: Record<string, State> };
    for (const task of taskStates(machine, definition)) {
      const at = `${source} ${task.name}`;
      const dynamo = task.resource.match(/^arn:aws:states:::dynamodb:(\w+)$/);
      const sdk = task.resource.match(/^arn:aws:states:::aws-sdk:(\w+):(\w+)$/);
      if (dynamo) {
        calls.push({ caller: 'stateMachine', call: `dynamodb:${lowerFirst(dynamo[1]!)} ${String(task.parameters.TableName)}`, source: at });
      } else if (task.resource === 'arn:aws:states:::lambda:invoke') {
        calls.push({ caller: 'stateMachine', call: `lambda:InvokeFunction ${String(task.parameters.FunctionName)}`, source: at });
      } else if (task.resource === 'arn:aws:states:::ecs:runTask.sync') {
        // the .sync integration: RunTask, then DescribeTasks/StopTask and the managed events rule
        for (const action of ['ecs:RunTask', 'ecs:DescribeTasks', 'ecs:StopTask', 'events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
          calls.push({ caller: 'stateMachine', call: action, source: `${at} (runTask.sync)` });
        }
      } else if (sdk) {
        calls.push({ caller: 'stateMachine', call: `${SERVICE_PREFIX[sdk[1]!] ?? sdk[1]}:${lowerFirst(sdk[2]!)}`, source: at });
        if (sdk[1] === 'ecs' && sdk[2] === 'registerTaskDefinition') calls.push(...taskDefinitionCalls(task, at));
      } else {
        throw new Error(`${at}: Task Resource ${task.resource} has no IAM mapping in test/cdk/helpers/code-calls.ts`);
      }
    }
  }
  return calls;
}

interface TaskDefinitionParameters {
  TaskRoleArn?: string;
  ExecutionRoleArn?: string;
  Volumes?: { Name: string; EfsVolumeConfiguration?: { FileSystemId: string; TransitEncryption?: string; AuthorizationConfig?: { Iam?: string } } }[];
  ContainerDefinitions?: { Name: string; Image: string; MountPoints?: { SourceVolume: string; ReadOnly?: boolean }[]; LogConfiguration?: { LogDriver: string; Options: Record<string, string> } }[];
}

function taskDefinitionCalls(task: TaskState, at: string): CodeCall[] {
  const calls: CodeCall[] = [];
  const definition = task.parameters as TaskDefinitionParameters;
  if (definition.TaskRoleArn || definition.ExecutionRoleArn) calls.push({ caller: 'stateMachine', call: 'iam:PassRole', source: at });
  for (const container of definition.ContainerDefinitions ?? []) {
    // the ECS agent, with the execution role: the image from ECR, the awslogs driver's stream
    calls.push({ caller: 'copierExecution', call: 'ecr:GetAuthorizationToken', source: `${at} ${container.Name} Image` });
    calls.push({ caller: 'copierExecution', call: 'ecr:BatchGetImage', source: `${at} ${container.Name} Image` });
    calls.push({ caller: 'copierExecution', call: 'ecr:GetDownloadUrlForLayer', source: `${at} ${container.Name} Image` });
    if (container.LogConfiguration?.LogDriver === 'awslogs') {
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
        calls.push({ caller: 'copierExecution', call: `${action} ${container.LogConfiguration.Options['awslogs-group']}`, source: `${at} ${container.Name} LogConfiguration` });
      }
    }
    for (const mount of container.MountPoints ?? []) {
      const volume = definition.Volumes?.find((v) => v.Name === mount.SourceVolume)?.EfsVolumeConfiguration;
      if (!volume || volume.AuthorizationConfig?.Iam !== 'ENABLED') continue;
      // Fargate mounts with the task role: ClientMount, and ClientWrite for a writable mount
      const actions = ['elasticfilesystem:ClientMount', ...(mount.ReadOnly ? [] : ['elasticfilesystem:ClientWrite'])];
      for (const action of actions) calls.push({ caller: 'copierTask', call: `${action} ${volume.FileSystemId}`, source: `${at} ${container.Name} ${mount.SourceVolume}` });
    }
  }
  return calls;
}

// The facade's Task adapters on their own: ECS task definitions and runTask.sync (volume mapping,
// container paths rewritten, failures shaped as Step Functions reports them, stopping children),
// and lambda:invoke's error shape. The command run here is a tiny node script on purpose: these
// tests are about the adapter, the copier itself runs in test/integration/workflows.test.ts.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError } from '../../functions/workflow/capability.ts';
import { findTaskStates, substitute } from '../../local/stepfunctions/definitions.ts';
import { ChildProcessGroup, LocalEcs, copierFailureLine } from '../../local/stepfunctions/tasks/ecs.ts';
import { lambdaInvokeTask } from '../../local/stepfunctions/tasks/lambda.ts';

const root = mkdtempSync(join(tmpdir(), 'facade-tasks-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ecsWith = (script: string) => new LocalEcs({
  region: 'us-east-1', accountId: '111122223333', localStorageRoot: root,
  copierCommand: [process.execPath, '-e', script], copierEnv: { FROM_FACADE: 'yes', COPIER_MODE: 'overridden' },
});

const definition = (family: string) => ({
  Family: family,
  Volumes: [
    { Name: 'backup', EfsVolumeConfiguration: { FileSystemId: 'local-backups', AuthorizationConfig: { AccessPointId: 'b-1' } } },
    { Name: 'share', EfsVolumeConfiguration: { FileSystemId: 'local-shares', AuthorizationConfig: { AccessPointId: 's-1' } } },
  ],
  ContainerDefinitions: [{
    Name: 'copier', Image: 'img',
    MountPoints: [{ SourceVolume: 'backup', ContainerPath: '/mnt/backup', ReadOnly: true }, { SourceVolume: 'share', ContainerPath: '/mnt/share' }],
    Environment: [
      { Name: 'COPIER_MODE', Value: 'restore' }, { Name: 'COPIER_SOURCE', Value: '/mnt/backup' },
      { Name: 'COPIER_TARGET', Value: '/mnt/share/sub' }, { Name: 'NOT_A_PATH', Value: '/mnt/sharex' },
      { Name: 'OUT', Value: join(root, 'env.json') },
    ],
  }],
});

describe('LocalEcs', () => {
  it('registers revisions per family in the aws-sdk integration shape and deregisters them', () => {
    const ecs = ecsWith('');
    const first = ecs.registerTaskDefinition(definition('copier-x'));
    const second = ecs.registerTaskDefinition(definition('copier-x'));
    expect(first.TaskDefinition).toMatchObject({ TaskDefinitionArn: 'arn:aws:ecs:us-east-1:111122223333:task-definition/copier-x:1', Revision: 1, Status: 'ACTIVE' });
    expect(second.TaskDefinition.Revision).toBe(2);
    expect(ecs.deregisterTaskDefinition({ TaskDefinition: first.TaskDefinition.TaskDefinitionArn }).TaskDefinition.Status).toBe('INACTIVE');
    expect(ecs.activeTaskDefinitions()).toEqual([second.TaskDefinition.TaskDefinitionArn]);
    expect(() => ecs.deregisterTaskDefinition({ TaskDefinition: 'nope:1' })).toThrow(expect.objectContaining({ name: 'Ecs.ClientException' }));
    const bad = definition('copier-y');
    bad.ContainerDefinitions[0]!.MountPoints[0]!.SourceVolume = 'missing';
    expect(() => ecs.registerTaskDefinition(bad)).toThrow(expect.objectContaining({ name: 'Ecs.ClientException' }));
  });

  it('runs the container with its environment, mount paths rewritten to the volume folders', async () => {
    const ecs = ecsWith("require('fs').writeFileSync(process.env.OUT, JSON.stringify(process.env))");
    const arn = ecs.registerTaskDefinition(definition('copier-run')).TaskDefinition.TaskDefinitionArn;
    const result = await ecs.runTaskSync(new ChildProcessGroup())({ Cluster: 'c', TaskDefinition: arn }) as { Tasks: { LastStatus: string; Containers: { ExitCode: number }[] }[] };
    expect(result.Tasks[0]).toMatchObject({ LastStatus: 'STOPPED', Containers: [{ ExitCode: 0 }] });
    const env = JSON.parse(readFileSync(join(root, 'env.json'), 'utf8')) as Record<string, string>;
    expect(env).toMatchObject({
      FROM_FACADE: 'yes', COPIER_MODE: 'restore', COPIER_SOURCE: join(root, 'backups/b-1'),
      COPIER_TARGET: join(root, 'shares/s-1/sub'), NOT_A_PATH: '/mnt/sharex',
    });
    expect(statSync(join(root, 'backups/b-1')).isDirectory()).toBe(true);
  });

  it("fails a non-zero exit as States.TaskFailed whose Cause carries the copier's JSON line", async () => {
    const ecs = ecsWith("console.error('copier: working'); console.error(JSON.stringify({error:'CopyError',reason:'disk full'})); console.error('trailing noise'); process.exit(1)");
    const arn = ecs.registerTaskDefinition(definition('copier-fail')).TaskDefinition.TaskDefinitionArn;
    const failure = await ecs.runTaskSync(new ChildProcessGroup())({ TaskDefinition: arn }).catch((e: unknown) => e) as Error;
    expect(failure.name).toBe('States.TaskFailed');
    const task = JSON.parse(failure.message) as { Containers: { ExitCode: number; Reason: string }[]; StopCode: string };
    expect(task.Containers[0]).toMatchObject({ ExitCode: 1, Reason: '{"error":"CopyError","reason":"disk full"}' });
    expect(describeError({ Error: failure.name, Cause: failure.message })).toBe('disk full');
  });

  it('refuses to run an inactive task definition, and volumes outside the local file systems', async () => {
    const ecs = ecsWith('');
    const arn = ecs.registerTaskDefinition(definition('copier-old')).TaskDefinition.TaskDefinitionArn;
    ecs.deregisterTaskDefinition({ TaskDefinition: arn });
    await expect(ecs.runTaskSync(new ChildProcessGroup())({ TaskDefinition: arn })).rejects.toMatchObject({ name: 'ECS.AmazonECSException' });
    const foreign = definition('copier-foreign');
    foreign.Volumes[0]!.EfsVolumeConfiguration.FileSystemId = 'fs-12345678';
    const foreignArn = ecs.registerTaskDefinition(foreign).TaskDefinition.TaskDefinitionArn;
    await expect(ecs.runTaskSync(new ChildProcessGroup())({ TaskDefinition: foreignArn })).rejects.toThrow(/only EFS volumes on local-shares, local-backups/);
  });

  it('stops a running container through its process group (exit 143 after SIGTERM)', async () => {
    const ecs = ecsWith("process.on('SIGTERM', () => process.exit(143)); setInterval(() => {}, 1000)");
    const arn = ecs.registerTaskDefinition(definition('copier-stop')).TaskDefinition.TaskDefinitionArn;
    const children = new ChildProcessGroup();
    const running = ecs.runTaskSync(children)({ TaskDefinition: arn }).catch((e: unknown) => e as Error);
    while (children.size === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200)); // let the child install its handler
    await children.stopAll(2000);
    const failure = (await running) as Error;
    expect((JSON.parse(failure.message) as { Containers: { ExitCode: number }[] }).Containers[0]!.ExitCode).toBe(143);
  });

  it('picks the copier JSON line among log lines; a log line is never a reason', () => {
    expect(copierFailureLine('a\n{"error":"X","reason":"r"}\nb\n')).toBe('{"error":"X","reason":"r"}');
    expect(copierFailureLine('copier: manifest checked at 88 ms\n\n')).toBeUndefined();
  });

  it('a copier killed by SIGKILL stops the task as ECS does: exit 137, no container reason, "Essential container in task exited"', async () => {
    const ecs = ecsWith("console.error('copier: manifest checked at 88 ms'); process.kill(process.pid, 'SIGKILL')");
    const arn = ecs.registerTaskDefinition(definition('copier-killed')).TaskDefinition.TaskDefinitionArn;
    const failure = await ecs.runTaskSync(new ChildProcessGroup())({ TaskDefinition: arn }).catch((e: unknown) => e) as Error;
    expect(failure.name).toBe('States.TaskFailed');
    const task = JSON.parse(failure.message) as { Containers: Record<string, unknown>[]; StopCode: string; StoppedReason: string };
    expect(task).toMatchObject({ StopCode: 'EssentialContainerExited', StoppedReason: 'Essential container in task exited' });
    expect(task.Containers[0]).toMatchObject({ ExitCode: 137 });
    expect(task.Containers[0]).not.toHaveProperty('Reason');
    expect(describeError({ Error: failure.name, Cause: failure.message })).toMatch(/^The copier was killed by signal 9 \(SIGKILL\), exit code 137;/);
  });
});

describe('lambda:invoke adapter', () => {
  it('returns {Payload, StatusCode} and turns a thrown error into Error = name, Cause = {errorType, errorMessage}', async () => {
    class NamedError extends Error { override name = 'DriverCapabilityError'; }
    const invoke = lambdaInvokeTask({
      ok: async (p) => ({ echoed: p }),
      bad: async () => { throw new NamedError('cannot'); },
    });
    await expect(invoke({ FunctionName: 'ok', Payload: { a: 1 } })).resolves.toMatchObject({ Payload: { echoed: { a: 1 } }, StatusCode: 200 });
    const failure = (await invoke({ FunctionName: 'bad', Payload: {} }).catch((e: unknown) => e)) as Error;
    expect(failure.name).toBe('DriverCapabilityError');
    expect(JSON.parse(failure.message)).toMatchObject({ errorType: 'DriverCapabilityError', errorMessage: 'cannot' });
    await expect(invoke({ FunctionName: 'missing' })).rejects.toMatchObject({ name: 'Lambda.ResourceNotFoundException' });
  });
});

describe('definitions', () => {
  it('finds Task states inside Parallel branches and Map processors', () => {
    const tasks = findTaskStates({ States: {
      P: { Type: 'Parallel', Branches: [{ States: { A: { Type: 'Task', Resource: 'r:a' } } }] },
      M: { Type: 'Map', ItemProcessor: { States: { B: { Type: 'Task', Resource: 'r:b' } } } },
      C: { Type: 'Task', Resource: 'r:c' },
    } });
    expect(tasks).toEqual([{ name: 'A', resource: 'r:a' }, { name: 'B', resource: 'r:b' }, { name: 'C', resource: 'r:c' }]);
  });

  it('escapes substituted values as JSON string content', () => {
    expect(JSON.parse(substitute('{"a":"${X}"}', { X: 'q"\\' }))).toEqual({ a: 'q"\\' });
  });
});

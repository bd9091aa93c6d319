// ECS locally: task definitions are kept in memory (aws-sdk:ecs:registerTaskDefinition /
// deregisterTaskDefinition, PascalCase results as the AWS SDK integration returns them), and
// ecs:runTask.sync spawns the copier as a child process with the container's environment, its EFS
// volumes mapped to folders under the local storage root and container paths rewritten to them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { killWithUs, stackMark } from '../../reaper.ts';
import { TaskError, type TaskHandler } from './task-error.ts';

export const ECS_RESOURCES = {
  register: 'arn:aws:states:::aws-sdk:ecs:registerTaskDefinition',
  deregister: 'arn:aws:states:::aws-sdk:ecs:deregisterTaskDefinition',
  runTaskSync: 'arn:aws:states:::ecs:runTask.sync',
} as const;

interface KeyValue { Name?: string; Value?: string }
interface MountPoint { SourceVolume?: string; ContainerPath?: string; ReadOnly?: boolean }
interface ContainerDefinition {
  Name?: string;
  Image?: string;
  Essential?: boolean;
  Environment?: KeyValue[];
  MountPoints?: MountPoint[];
  [other: string]: unknown;
}
interface Volume {
  Name?: string;
  EfsVolumeConfiguration?: { FileSystemId?: string; RootDirectory?: string; AuthorizationConfig?: { AccessPointId?: string } };
}
interface RegisterParameters {
  Family?: string;
  ContainerDefinitions?: ContainerDefinition[];
  Volumes?: Volume[];
  [other: string]: unknown;
}
interface TaskDefinition extends RegisterParameters {
  TaskDefinitionArn: string;
  Family: string;
  Revision: number;
  Status: 'ACTIVE' | 'INACTIVE';
  RegisteredAt: number;
  DeregisteredAt?: number;
}
interface RunTaskParameters {
  Cluster?: string;
  TaskDefinition?: string;
  Overrides?: { ContainerOverrides?: { Name?: string; Environment?: KeyValue[] }[] };
}

export interface LocalEcsOptions {
  region: string;
  accountId: string;
  /** fileSystemId "local-shares" -> <root>/shares/<accessPointId>, "local-backups" -> <root>/backups/<accessPointId> */
  localStorageRoot: string;
  copierCommand: string[];
  copierEnv: Record<string, string>;
}

/** The copier processes an execution started, so StopExecution can end them (the engine's abort never reaches a handler). */
export class ChildProcessGroup {
  private readonly children = new Set<ChildProcess>();

  add(child: ChildProcess): void {
    this.children.add(child);
    killWithUs(child); // a copier must not outlive the facade, even one killed by SIGKILL
    child.once('exit', () => this.children.delete(child));
  }

  get size(): number {
    return this.children.size;
  }

  /** SIGTERM to each child's process group (the copier exits 143), SIGKILL after the grace period. */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all([...this.children].map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
      const pid = child.pid;
      const kill = (signal: NodeJS.Signals) => {
        try { process.kill(-pid, signal); } catch { /* already gone */ }
      };
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      kill('SIGTERM');
    })));
  }
}

// The folder the facade maps a volume to: the same layout the local storage backend creates.
const FILE_SYSTEM_FOLDERS: Record<string, string> = { 'local-shares': 'shares', 'local-backups': 'backups' };
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const clientError = (message: string) => new TaskError('Ecs.ClientException', message);

/**
 * The last stderr line the copier wrote as `{"error","reason"}` (it failed and said why), else
 * undefined. Never another log line: a copier killed mid-run ("copier: manifest checked at 88 ms")
 * did not fail for the reason its last log line gives, and ECS would not report that line either.
 */
export function copierFailureLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const parsed: unknown = JSON.parse(lines[i]!);
      if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) return lines[i]!.slice(0, 1024);
    } catch { /* not the JSON line */ }
  }
  return undefined;
}

export class LocalEcs {
  private readonly definitions = new Map<string, TaskDefinition>();
  private readonly revisions = new Map<string, number>();
  private taskCounter = 0;

  constructor(private readonly opts: LocalEcsOptions) {}

  registerTaskDefinition(params: RegisterParameters): { TaskDefinition: TaskDefinition } {
    const family = params.Family;
    if (typeof family !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(family)) throw clientError(`Invalid family: ${String(family)}`);
    const containers = params.ContainerDefinitions ?? [];
    if (containers.length === 0) throw clientError('Container list cannot be empty.');
    const volumeNames = new Set((params.Volumes ?? []).map((v) => v.Name));
    for (const c of containers) {
      for (const m of c.MountPoints ?? []) {
        if (!volumeNames.has(m.SourceVolume)) throw clientError(`Unknown volume '${String(m.SourceVolume)}' in container ${String(c.Name)}.`);
      }
    }
    const revision = (this.revisions.get(family) ?? 0) + 1;
    this.revisions.set(family, revision);
    const arn = `arn:aws:ecs:${this.opts.region}:${this.opts.accountId}:task-definition/${family}:${revision}`;
    const definition: TaskDefinition = { ...structuredClone(params), TaskDefinitionArn: arn, Family: family, Revision: revision, Status: 'ACTIVE', RegisteredAt: Date.now() };
    this.definitions.set(arn, definition);
    return { TaskDefinition: structuredClone(definition) };
  }

  deregisterTaskDefinition(params: { TaskDefinition?: string }): { TaskDefinition: TaskDefinition } {
    const definition = this.resolve(params.TaskDefinition);
    if (definition.Status === 'ACTIVE') {
      definition.Status = 'INACTIVE';
      definition.DeregisteredAt = Date.now();
    }
    return { TaskDefinition: structuredClone(definition) };
  }

  /** Task definitions by ARN or family:revision; tests use it to see that a run cleaned up. */
  describeTaskDefinition(ref: string): TaskDefinition | undefined {
    const found = this.definitions.get(ref) ?? [...this.definitions.values()].find((d) => `${d.Family}:${d.Revision}` === ref);
    return found ? structuredClone(found) : undefined;
  }

  activeTaskDefinitions(): string[] {
    return [...this.definitions.values()].filter((d) => d.Status === 'ACTIVE').map((d) => d.TaskDefinitionArn);
  }

  private resolve(ref: string | undefined): TaskDefinition {
    const found = ref === undefined ? undefined
      : this.definitions.get(ref) ?? [...this.definitions.values()].find((d) => `${d.Family}:${d.Revision}` === ref);
    if (!found) throw clientError(`Unable to describe task definition ${String(ref)}.`);
    return found;
  }

  private hostFolder(volume: Volume): string {
    const efs = volume.EfsVolumeConfiguration;
    const folder = efs?.FileSystemId ? FILE_SYSTEM_FOLDERS[efs.FileSystemId] : undefined;
    const accessPoint = efs?.AuthorizationConfig?.AccessPointId;
    if (!folder) throw clientError(`Volume ${String(volume.Name)}: only EFS volumes on ${Object.keys(FILE_SYSTEM_FOLDERS).join(', ')} run locally.`);
    if (!accessPoint || !SAFE_ID.test(accessPoint)) throw clientError(`Volume ${String(volume.Name)}: invalid access point id ${String(accessPoint)}.`);
    const dir = join(this.opts.localStorageRoot, folder, accessPoint);
    // An EFS access point creates its root directory on first mount; so does the facade.
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** The container's environment with values under a mount path rewritten to the host folder. */
  private containerEnvironment(container: ContainerDefinition, volumes: Volume[], overrides: KeyValue[]): Record<string, string> {
    const mounts = (container.MountPoints ?? [])
      .map((m) => {
        const volume = volumes.find((v) => v.Name === m.SourceVolume);
        if (!volume || !m.ContainerPath) throw clientError(`Mount point ${String(m.SourceVolume)} has no volume or path.`);
        return { containerPath: m.ContainerPath.replace(/\/+$/, ''), hostPath: this.hostFolder(volume) };
      })
      .sort((a, b) => b.containerPath.length - a.containerPath.length);
    const env: Record<string, string> = {};
    for (const { Name, Value } of [...(container.Environment ?? []), ...overrides]) {
      if (!Name) continue;
      const value = Value ?? '';
      const mount = mounts.find((m) => value === m.containerPath || value.startsWith(`${m.containerPath}/`));
      env[Name] = mount ? mount.hostPath + value.slice(mount.containerPath.length) : value;
    }
    return env;
  }

  runTaskSync(children: ChildProcessGroup): TaskHandler {
    return async (parameters) => {
      const params = (parameters ?? {}) as RunTaskParameters;
      const definition = this.resolve(params.TaskDefinition);
      if (definition.Status !== 'ACTIVE') throw new TaskError('ECS.AmazonECSException', `TaskDefinition is inactive: ${definition.TaskDefinitionArn}`);
      const container = (definition.ContainerDefinitions ?? [])[0];
      if (!container || (definition.ContainerDefinitions ?? []).length !== 1) {
        throw new TaskError('ECS.AmazonECSException', 'The local runtime runs task definitions with exactly one container.');
      }
      const overrides = params.Overrides?.ContainerOverrides?.find((o) => o.Name === container.Name)?.Environment ?? [];
      const env = this.containerEnvironment(container, definition.Volumes ?? [], overrides);
      const taskArn = `arn:aws:ecs:${this.opts.region}:${this.opts.accountId}:task/local/${Date.now().toString(16)}${(++this.taskCounter).toString(16).padStart(6, '0')}`;
      const createdAt = Date.now();
      const [command, ...args] = this.opts.copierCommand;
      if (!command) throw new TaskError('ECS.AmazonECSException', 'no copier command configured');

      const { exitCode, stderr, startError, signal } = await new Promise<{ exitCode: number; stderr: string; startError?: string; signal?: NodeJS.Signals }>((resolve) => {
        let stderrText = '';
        const child = spawn(command, args, {
          // A container has a PATH of its own; the rest is exactly what the task gives it.
          // (and the stack's mark, so the reaper ends it even if the stack dies before killWithUs)
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.opts.copierEnv, ...env, ...stackMark() },
          stdio: ['ignore', 'ignore', 'pipe'],
          detached: true, // its own process group, so StopExecution ends it and anything it started
        });
        children.add(child);
        child.stderr?.setEncoding('utf8');
        child.stderr?.on('data', (chunk: string) => { stderrText = (stderrText + chunk).slice(-65536); });
        child.once('error', (err) => resolve({ exitCode: 255, stderr: stderrText, startError: err.message }));
        child.once('close', (code, signal) => {
          // as Docker reports a container whose process died of a signal: 128 + the signal's number
          const bySignal = signal ? 128 + (osConstants.signals[signal] ?? 0) : undefined;
          resolve({ exitCode: code ?? bySignal ?? 255, stderr: stderrText, ...(signal ? { signal } : {}) });
        });
      });

      const stoppedAt = Date.now();
      // ECS gives a container a reason only for what ECS saw (it could not start, OOM); a process
      // that died of a signal has none. The copier's own failure line stands in for the reason it
      // records on its progress record on AWS.
      const reason = startError ? `CannotStartContainerError: ${startError}` : signal ? undefined : copierFailureLine(stderr);
      const task = {
        TaskArn: taskArn,
        ClusterArn: params.Cluster,
        TaskDefinitionArn: definition.TaskDefinitionArn,
        LaunchType: 'FARGATE',
        LastStatus: 'STOPPED',
        DesiredStatus: 'STOPPED',
        StopCode: startError ? 'TaskFailedToStart' : 'EssentialContainerExited',
        StoppedReason: startError ? 'Task failed to start' : 'Essential container in task exited',
        CreatedAt: createdAt,
        StartedAt: createdAt,
        StoppedAt: stoppedAt,
        Containers: [{
          Name: container.Name, Image: container.Image, LastStatus: 'STOPPED', ExitCode: exitCode,
          ...(exitCode !== 0 && reason ? { Reason: reason } : {}),
        }],
      };
      // ecs:runTask.sync fails the state when a container exits non-zero; the Cause is the task.
      if (exitCode !== 0) throw new TaskError('States.TaskFailed', JSON.stringify(task));
      return { Tasks: [task], Failures: [] };
    };
  }
}

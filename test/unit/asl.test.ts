// The ASL files are valid Amazon States Language, every Task state bounds its time, and every
// Resource is one the local facade performs (so what runs locally is what runs on AWS).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { findTaskStates, substitute } from '../../local/stepfunctions/definitions.ts';
import { DYNAMODB_RESOURCES } from '../../local/stepfunctions/tasks/dynamodb.ts';
import { ECS_RESOURCES } from '../../local/stepfunctions/tasks/ecs.ts';
import { LAMBDA_RESOURCE } from '../../local/stepfunctions/tasks/lambda.ts';

const dir = join(import.meta.dirname, '../../statemachine');
const files = readdirSync(dir).filter((f) => f.endsWith('.asl.json'));
const load = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as { States: Record<string, Record<string, unknown>> };

const IMPLEMENTED = new Set<string>([...Object.keys(DYNAMODB_RESOURCES), LAMBDA_RESOURCE, ...Object.values(ECS_RESOURCES)]);
// The developer reference's substitution list: a ${Name} outside it would break the CDK deploy.
const SUBSTITUTIONS = ['SharesTable', 'BackupsTable', 'RestoresTable', 'ReportsTable', 'WorkflowFunctionArn', 'ClusterArn', 'CopierImage',
  'CopierTaskRoleArn', 'CopierExecutionRoleArn', 'CopierLogGroup', 'Region', 'CopierSubnetIds', 'CopierSecurityGroupIds',
  'SharesFileSystemId', 'BackupsFileSystemId'];

interface StateNode { Type?: string; Next?: string; Default?: string; Choices?: { Next: string }[]; Catch?: { Next: string; ErrorEquals: string[] }[]; Retry?: { ErrorEquals: string[] }[] }

describe('statemachine/*.asl.json', () => {
  it('contains the restore and backup workflows', () => {
    expect(files.sort()).toEqual(['backup.asl.json', 'restore.asl.json']);
  });

  it.each(files)('%s is valid ASL (asl-validator, paths and ARNs checked)', (file) => {
    const result = aslValidator(structuredClone(load(file)), { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it.each(files)('%s: every Task state has TimeoutSeconds, a Retry and a Resource the facade implements', (file) => {
    const tasks = findTaskStates(load(file));
    expect(tasks.length).toBeGreaterThan(5);
    for (const { name, resource } of tasks) {
      const state = load(file).States[name] as StateNode & { TimeoutSeconds?: number };
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      expect(IMPLEMENTED.has(resource), `${name}: ${resource}`).toBe(true);
    }
  });

  it.each(files)('%s uses only the documented substitutions, and substitutes to valid JSON', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]));
    for (const name of used) expect(SUBSTITUTIONS).toContain(name);
    const values = Object.fromEntries(SUBSTITUTIONS.map((n) => [n, `value-of-"${n}"`]));
    expect(() => JSON.parse(substitute(text, values))).not.toThrow();
    expect(() => substitute(text, {})).toThrow(/substitutions missing/);
  });

  it.each(files)('%s: every state after the loads can fail into compensation, which ends in a Fail state', (file) => {
    const { States } = load(file);
    const failStates = Object.entries(States).filter(([, s]) => s.Type === 'Fail').map(([n]) => n);
    expect(failStates).toHaveLength(1);
    // From the compensation's entry, every path reaches the Fail state and never a success.
    const reachable = new Set<string>();
    const walk = (name: string) => {
      if (reachable.has(name)) return;
      reachable.add(name);
      const s = States[name] as StateNode;
      for (const next of [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(s.Catch ?? []).map((c) => c.Next)]) if (next) walk(next);
    };
    walk('WasCopyTaskDefinitionRegistered');
    expect([...reachable].filter((n) => States[n]!.Type === 'Succeed' || (States[n] as { End?: boolean }).End === true)).toEqual([]);
    expect(reachable.has(failStates[0]!)).toBe(true);
    // Main-path Task states (those outside the compensation) hand every error to it.
    for (const [name, s] of Object.entries(States) as [string, StateNode][]) {
      if (s.Type !== 'Task' || reachable.has(name)) continue;
      const catchers = (s.Catch ?? []).flatMap((c) => c.ErrorEquals.includes('States.ALL') ? [c.Next] : []);
      expect(catchers.length, name).toBeGreaterThan(0);
    }
  });

  it('the restore copy task mounts the backup read-only and the target share writable', () => {
    const register = load('restore.asl.json').States.RegisterCopyTaskDefinition as { Parameters: { ContainerDefinitions: { MountPoints: { SourceVolume: string; ReadOnly: boolean }[] }[] } };
    const mounts = register.Parameters.ContainerDefinitions[0]!.MountPoints;
    expect(mounts.find((m) => m.SourceVolume === 'backup')?.ReadOnly).toBe(true);
    expect(mounts.find((m) => m.SourceVolume === 'share')?.ReadOnly).toBe(false);
  });

  it('the backup copy task mounts the share read-only', () => {
    const register = load('backup.asl.json').States.RegisterCopyTaskDefinition as { Parameters: { ContainerDefinitions: { MountPoints: { SourceVolume: string; ReadOnly: boolean }[] }[] } };
    const mounts = register.Parameters.ContainerDefinitions[0]!.MountPoints;
    expect(mounts.find((m) => m.SourceVolume === 'share')?.ReadOnly).toBe(true);
  });

  it.each([['restore.asl.json', '$.restore_id'], ['backup.asl.json', '$.backup_id']])('%s gives the copier its report table and its operation id', (file, idPath) => {
    const register = load(file).States.RegisterCopyTaskDefinition as { Parameters: { ContainerDefinitions: { Environment: Record<string, string>[] }[] } };
    const env = register.Parameters.ContainerDefinitions[0]!.Environment;
    expect(env).toContainEqual({ Name: 'REPORT_TABLE', Value: '${ReportsTable}' });
    expect(env).toContainEqual({ Name: 'COPIER_RUN_ID', 'Value.$': idPath });
  });
});

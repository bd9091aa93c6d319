// The nag setup of cdk/app.ts (addNagChecks) on a deliberately bad stack: the synth must fail and
// name the rules, so the app's passing synth (stacks.test.ts) means something. And an
// acknowledgement silences exactly the rule it names on the construct it is put on, nothing else.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { addNagChecks } from '../../cdk/app.ts';
import { unusedAcknowledgements } from './nag.ts';

const dirs: string[] = [];
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

function badApp(acknowledge?: (stack: Stack, bucket: s3.Bucket, role: iam.Role) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'nag-fixture-'));
  dirs.push(outdir);
  // in memory, as the tests synthesize (the CLI would print the report and exit 1 instead)
  const app = new App({ outdir, context: { '@aws-cdk/core:appMode': 'inmemory' } });
  const stack = new Stack(app, 'Bad', { env: { account: '111111111111', region: 'eu-west-1' } });
  const bucket = new s3.Bucket(stack, 'PlainBucket'); // no access logs, SSL not enforced
  const role = new iam.Role(stack, 'WildRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
  acknowledge?.(stack, bucket, role);
  addNagChecks(app);
  return { app, outdir };
}

describe('the cdk-nag setup on a stack that breaks its rules', () => {
  it('fails the synth, naming each rule broken, and writes them to the validation report', () => {
    const { app, outdir } = badApp();
    const error = (() => { try { app.synth(); } catch (e) { return e as Error; } return undefined; })();
    expect(error?.name).toBe('ValidationFailed');
    const message = String(error?.message);
    for (const rule of ['AwsSolutions-S1', 'AwsSolutions-S10', 'AwsSolutions-IAM5[Action::s3:*]', 'AwsSolutions-IAM5[Resource::*]']) expect(message).toContain(rule);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[] };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.conclusion).toBe('failure');
    expect(nag.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-IAM5[Resource::*]']));
  });

  it('lets an acknowledgement silence only the finding it names, where it is put', () => {
    const { app } = badApp((_stack, bucket, role) => {
      Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'fixture' });
      Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S10', reason: 'fixture' });
      Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'fixture' });
    });
    let message = '';
    try { app.synth(); } catch (e) { message = String(e); }
    expect(message).toContain('AwsSolutions-IAM5[Action::s3:*]');
    expect(message).not.toMatch(/AwsSolutions-S1\b|AwsSolutions-S10|IAM5\[Resource::\*\]/);
  });

  it('finds an acknowledgement that covers nothing (the check stacks.test.ts runs on the real app)', () => {
    const { app } = badApp((stack, bucket) => {
      Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'used' });
      // nothing in the stack is a Lambda function: this one covers no finding
      Validations.of(stack).acknowledge({ id: 'AwsSolutions-L1', reason: 'stale' });
    });
    expect(unusedAcknowledgements(app).map((a) => `${a.path} ${a.rule}`)).toEqual(['Bad AwsSolutions-L1']);
  });
});

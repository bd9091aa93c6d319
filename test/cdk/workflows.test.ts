// The GitHub workflows, parsed: every action pinned by a full commit SHA (the tag in a comment),
// an OIDC token (id-token: write) only for the jobs that deploy or diff, and a deploy only from
// main through the stage's environment. And the CI roles of cdk/ci-identity.ts trust exactly the
// subjects those jobs get.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addNagChecks } from '../../cdk/app.ts';
import { CiIdentityStack, environmentSubject, pullRequestSubject } from '../../cdk/ci-identity.ts';
import { REPO_ROOT } from '../../cdk/service-stack.ts';

type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Job = { if?: string; environment?: string; permissions?: Record<string, string>; steps: Step[] };
type Workflow = { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> };

const dir = join(REPO_ROOT, '.github/workflows');
const files = readdirSync(dir).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
const text = (file: string) => readFileSync(join(dir, file), 'utf8');
const workflow = (file: string) => parse(text(file)) as Workflow;
const isCloudJob = (job: Job) => job.steps.some((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));

describe('GitHub workflows', () => {
  it('are the deploy and pull-request workflows', () => {
    expect(files.sort()).toEqual(['deploy.yml', 'pull-request.yml']);
  });

  it('pin every action by a full commit SHA, with the tag in a comment', () => {
    for (const file of files) {
      const steps = Object.values(workflow(file).jobs).flatMap((j) => j.steps);
      expect(steps.some((s) => s.uses)).toBe(true);
      for (const step of steps.filter((s) => s.uses)) expect(step.uses, `${file}: ${step.uses}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      for (const line of text(file).split('\n').filter((l) => /^\s*-?\s*uses:/.test(l))) expect(line, file).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });

  it('give an OIDC token only to the jobs that use AWS credentials (deploy, diff), never workflow-wide', () => {
    for (const file of files) {
      const wf = workflow(file);
      expect(wf.permissions, file).toEqual({ contents: 'read' });
      for (const [name, job] of Object.entries(wf.jobs)) {
        if (isCloudJob(job)) expect(job.permissions, `${file} ${name}`).toEqual({ contents: 'read', 'id-token': 'write' });
        else expect(job.permissions?.['id-token'], `${file} ${name}`).toBeUndefined();
      }
      expect(Object.keys(wf.jobs).filter((n) => isCloudJob(wf.jobs[n]!)).sort(), file).toEqual(file === 'deploy.yml' ? ['deploy'] : ['diff']);
    }
  });

  it('deploy only main, through the stage\'s environment (a workflow_dispatch of another branch deploys nothing)', () => {
    const wf = workflow('deploy.yml');
    expect(wf.on.push).toEqual({ branches: ['main'] });
    const deploys = Object.entries(wf.jobs).filter(([, job]) => job.steps.some((s) => /\bcdk deploy\b/.test(s.run ?? '')));
    expect(deploys.map(([name]) => name)).toEqual(['deploy']);
    for (const [, job] of deploys) {
      expect(job.if?.replace(/\s+/g, ' ')).toBe("github.ref == 'refs/heads/main'");
      expect(job.environment).toMatch(/vars\.STAGE/);
    }
    // no other workflow deploys
    for (const file of files.filter((f) => f !== 'deploy.yml')) expect(text(file)).not.toMatch(/\bcdk deploy\b/);
  });

  it('diff the two stacks by name (`cdk diff` has no --all), without a change set, failing on destructive changes', () => {
    const run = Object.values(workflow('pull-request.yml').jobs).flatMap((j) => j.steps).map((s) => s.run ?? '').find((r) => /\bcdk diff\b/.test(r))!;
    expect(run).not.toContain('--all');
    expect(run).toContain('ShareBackup-$STAGE-Data ShareBackup-$STAGE-Service');
    expect(run).toContain('--method=template');
    expect(run).toContain('--fail-on=destructive');
  });
});

describe('CI identity (cdk/ci-identity.ts)', () => {
  const synth = (props: Partial<ConstructorParameters<typeof CiIdentityStack>[2]> = {}) => {
    const app = new App({ context: { '@aws-cdk/core:appMode': 'inmemory' } });
    const stack = new CiIdentityStack(app, 'CI', { env: { account: '111111111111', region: 'eu-west-1' }, stage: 'prod', repository: 'example-org/share-backup', ...props });
    addNagChecks(app);
    app.synth(); // throws on a cdk-nag finding, as the app's synth does
    return Template.fromStack(stack);
  };
  const trustOf = (template: Template, logicalIdPrefix: string) => {
    const [, role] = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith(logicalIdPrefix))!;
    return (role.Properties.AssumeRolePolicyDocument as { Statement: { Action: string; Condition: Record<string, Record<string, string>> }[] }).Statement;
  };

  it('creates GitHub\'s OIDC provider for audience sts.amazonaws.com, or uses the account\'s existing one', () => {
    synth().hasResourceProperties('AWS::IAM::OIDCProvider', { Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
    synth({ existingProviderArn: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com' }).resourceCountIs('AWS::IAM::OIDCProvider', 0);
  });

  it('trusts the deploy role for the stage\'s environment subject only, the diff role for pull requests only', () => {
    const template = synth();
    for (const [role, subject] of [['DeployRole', environmentSubject('example-org/share-backup', 'prod')], ['DiffRole', pullRequestSubject('example-org/share-backup')]] as const) {
      const statements = trustOf(template, role);
      expect(statements).toHaveLength(1);
      expect(statements[0]!.Action).toBe('sts:AssumeRoleWithWebIdentity');
      expect(statements[0]!.Condition).toEqual({ StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': subject } });
    }
    expect(environmentSubject('o/r', 'prod')).toBe('repo:o/r:environment:prod');
    expect(pullRequestSubject('o/r')).toBe('repo:o/r:pull_request');
    expect(() => synth({ repository: 'not a repo' })).toThrow(/owner/);
  });

  it('lets the roles assume only the CDK bootstrap roles their job needs', () => {
    const template = synth();
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const resourcesOf = (role: string) => JSON.stringify(policies.find((p) => JSON.stringify(p.Properties.Roles).includes(role))!.Properties.PolicyDocument);
    for (const kind of ['deploy', 'file-publishing', 'image-publishing', 'lookup']) expect(resourcesOf('DeployRole')).toContain(`cdk-hnb659fds-${kind}-role-111111111111-eu-west-1`);
    expect(resourcesOf('DiffRole')).toContain('cdk-hnb659fds-lookup-role-111111111111-eu-west-1');
    expect(resourcesOf('DiffRole')).not.toMatch(/deploy-role|publishing-role/);
  });
});

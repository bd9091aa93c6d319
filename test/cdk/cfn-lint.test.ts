// cfn-lint (CloudFormation's own linter, 1.x) on every template the app synthesizes, with the
// repository's .cfnlintrc.yaml: no error, no warning it does not acknowledge. Assets are not
// bundled here (the aws:cdk:bundling-stacks context): only the templates are linted.
// cfn-lint is a Python tool: .ci/run installs it (Debian's cfn-lint), the GitHub workflows with
// pipx; without it this test fails, saying so.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cdk/app.ts';
import { REPO_ROOT } from '../../cdk/service-stack.ts';

const run = promisify(execFile);
const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
let outdir: string;

type Match = { Rule: { Id: string }; Level: string; Message: string; Filename: string; Location: { Path?: unknown[] } };

/** cfn-lint's findings on the given templates (JSON format; exit status 0 none, else a bitmask of levels). */
async function cfnLint(templates: string[]): Promise<Match[]> {
  const args = ['--config-file', join(REPO_ROOT, '.cfnlintrc.yaml'), '--format', 'json', '--', ...templates];
  const { stdout } = await run('cfn-lint', args, { maxBuffer: 64 * 1024 * 1024 }).catch((e: { code?: number | string; stdout?: string; message: string }) => {
    if (e.code === 'ENOENT') throw new Error('cfn-lint is not installed: .ci/run installs it (apt-get install cfn-lint), or pipx install cfn-lint');
    if (typeof e.code === 'number' && e.code > 0 && e.code < 32 && e.stdout !== undefined) return { stdout: e.stdout };
    throw e;
  });
  return stdout.trim() === '' ? [] : JSON.parse(stdout) as Match[];
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  const { app } = buildApp({ outdir, context: { ...cdkJson.context, '@aws-cdk/core:appMode': 'inmemory', 'aws:cdk:bundling-stacks': [] } });
  app.synth();
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cfn-lint', () => {
  it('is installed, version 1.x', async () => {
    const { stdout } = await run('cfn-lint', ['--version']).catch(() => ({ stdout: 'missing' }));
    expect(stdout).toMatch(/^cfn-lint 1\./);
  });

  it('finds no error and no unacknowledged warning in any synthesized template', async () => {
    const templates = readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => join(outdir, f));
    // every stack the app has (a stack added later is linted too)
    expect(templates.map((t) => t.slice(outdir.length + 1))).toEqual(expect.arrayContaining(['ShareBackup-dev-Data.template.json', 'ShareBackup-dev-Service.template.json']));
    const findings = (await cfnLint(templates)).map((m) => `${m.Filename.slice(outdir.length + 1)} ${m.Level} ${m.Rule.Id} ${m.Message}`);
    expect(findings).toEqual([]);
  }, 120_000);

  it('does report a broken template (the harness would notice a finding)', async () => {
    const broken = join(outdir, 'broken.json');
    writeFileSync(broken, JSON.stringify({
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: { Table: { Type: 'AWS::DynamoDB::Table', Properties: { BillingMode: 'SOMETIMES', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] } } },
    }));
    const findings = await cfnLint([broken]);
    expect(findings.some((m) => m.Level === 'Error')).toBe(true);
  }, 120_000);
});

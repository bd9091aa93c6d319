// cdk/monitoring.ts on a small stack of stand-ins (no bundling): the alarm topic and its
// subscriptions from the stage configuration, an alarm for each thing that must page someone, and
// the dashboard. (The deployed stage's alarms and workflow log settings: stacks.test.ts.)
import { App, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { stageConfigFrom } from '../../cdk/config.ts';
import { COPIER_FAILURES_METRIC, Monitoring, copierBytesMetric, copierMillisecondsMetric, metricNamespace } from '../../cdk/monitoring.ts';
import { doneLine } from '../../copier/done-line.ts';
import { emptyResult } from '../../copier/run.ts';

type Alarm = { Properties: { AlarmName: string; MetricName?: string; Namespace?: string; Threshold: number; ExtendedStatistic?: string; TreatMissingData: string; AlarmActions: unknown[]; Metrics?: unknown[] } };

function monitored(context: Record<string, unknown> = {}) {
  const app = new App({ context: { account: '111111111111', region: 'eu-west-1', ...context } });
  const config = stageConfigFrom(app.node);
  const stack = new Stack(app, 'Monitored', { env: { account: config.account, region: config.region } });
  const fn = (id: string) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}') });
  const machine = (id: string) => new sfn.StateMachine(stack, id, { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${id}Pass`)) });
  const table = (id: string) => new dynamodb.Table(stack, id, { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
  const monitoring = new Monitoring(stack, 'Monitoring', {
    config,
    stateMachines: { restore: machine('Restore'), backup: machine('Backup') },
    functions: [fn('ApiFunction'), fn('WorkflowFunction')],
    api: new apigwv2.HttpApi(stack, 'Api'),
    tables: { shares: table('Shares'), restores: table('Restores') },
    cluster: new ecs.Cluster(stack, 'Cluster', { vpc: new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 1 }) }),
    copierLogGroup: new logs.LogGroup(stack, 'CopierLogs'),
  });
  return { monitoring, template: Template.fromStack(stack) };
}

const alarmsOf = (template: Template) => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
const byName = (template: Template) => Object.fromEntries(alarmsOf(template).map((a) => [a.Properties.AlarmName.replace(/^share-backup-dev-/, ''), a.Properties]));

describe('monitoring', () => {
  it('sends every alarm (and its return to OK) to one topic that refuses plain HTTP; no subscriptions unless configured', () => {
    const { template } = monitored();
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(JSON.stringify(template.findResources('AWS::SNS::TopicPolicy'))).toContain('"aws:SecureTransport":"false"');
    for (const alarm of alarmsOf(template)) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('subscribes the configured e-mail addresses and HTTPS endpoints (from cdk.json or -c, comma-separated)', () => {
    const { template } = monitored({ alarmEmails: 'ops@example.com,oncall@example.com', alarmHttpsUrls: ['https://hooks.example.com/x'] });
    const subs = Object.values(template.findResources('AWS::SNS::Subscription')).map((s) => `${s.Properties.Protocol} ${s.Properties.Endpoint}`).sort();
    expect(subs).toEqual(['email oncall@example.com', 'email ops@example.com', 'https https://hooks.example.com/x']);
    expect(() => monitored({ alarmHttpsUrls: 'http://plain.example.com' })).toThrow(/not an https URL/);
  });

  it('alarms on failed, timed-out and aborted executions of each state machine', () => {
    const alarms = byName(monitored().template);
    for (const machine of ['restore', 'backup']) {
      for (const [suffix, metric] of [['failed', 'ExecutionsFailed'], ['timed-out', 'ExecutionsTimedOut'], ['aborted', 'ExecutionsAborted']]) {
        const alarm = alarms[`${machine}-executions-${suffix}`];
        expect(alarm, `${machine} ${suffix}`).toMatchObject({ Namespace: 'AWS/States', MetricName: metric, Threshold: 1 });
      }
    }
  });

  it('alarms on Lambda errors and throttles, API 5xx and p99 latency, DynamoDB throttling, copier failures', () => {
    const { template } = monitored({ apiLatencyP99Millis: '2500' });
    const alarms = byName(template);
    for (const fn of ['ApiFunction', 'WorkflowFunction']) {
      expect(alarms[`${fn}-errors`]).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors' });
      expect(alarms[`${fn}-throttles`]).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles' });
    }
    expect(alarms['api-5xx']).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5xx' });
    expect(alarms['api-latency-p99']).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: 'Latency', ExtendedStatistic: 'p99', Threshold: 2500 });
    for (const table of ['shares', 'restores']) expect(JSON.stringify(alarms[`${table}-table-throttled`]!.Metrics)).toMatch(/ReadThrottleEvents.*WriteThrottleEvents/);
    expect(alarms['copier-failures']).toMatchObject({ Namespace: metricNamespace('dev'), MetricName: COPIER_FAILURES_METRIC });
    // the copier's last line when it fails: {"error": ..., "reason": ...} (copier/main.ts)
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.error = "*" }', // any string: the error's name
      MetricTransformations: [{ MetricNamespace: 'ShareBackup/dev', MetricName: COPIER_FAILURES_METRIC, MetricValue: '1' }],
    });
  });

  // CloudWatch reads the copier's success line (copier/done-line.ts) with these filters: the test
  // applies each filter's pattern and value to the line the copier writes, so the two cannot drift
  it('counts the bytes and the copy time of each finished restore and backup from the copier\'s last line', () => {
    const { template } = monitored();
    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')).map((f) => f.Properties as {
      FilterPattern: string; MetricTransformations: { MetricNamespace: string; MetricName: string; MetricValue: string }[];
    });
    const line = (mode: 'backup' | 'restore') => JSON.parse(doneLine(mode, 1500, { ...emptyResult(), files: 3, bytes: 3_000_000 })) as Record<string, unknown>;
    // the simple JSON patterns used here: { $.field = "value" }
    const matches = (pattern: string, event: Record<string, unknown>) => {
      const m = /^\{ \$\.(\w+) = "([^"]*)" \}$/.exec(pattern);
      if (!m) throw new Error(`pattern not understood here: ${pattern}`);
      return m[2] === '*' ? typeof event[m[1]!] === 'string' : event[m[1]!] === m[2];
    };
    const valueOf = (expression: string, event: Record<string, unknown>) => (expression.startsWith('$.') ? event[expression.slice(2)] : Number(expression));
    for (const mode of ['restore', 'backup'] as const) {
      const event = line(mode);
      const seen = Object.fromEntries(filters.filter((f) => matches(f.FilterPattern, event)).map((f) => [f.MetricTransformations[0]!.MetricName, valueOf(f.MetricTransformations[0]!.MetricValue, event)]));
      expect(seen).toEqual({ [copierBytesMetric(mode)]: 3_000_000, [copierMillisecondsMetric(mode)]: 1500 });
    }
    // a failure line counts a failure, not bytes
    const failure = { error: 'CopyError', reason: 'x' };
    expect(filters.filter((f) => matches(f.FilterPattern, failure)).map((f) => f.MetricTransformations[0]!.MetricName)).toEqual([COPIER_FAILURES_METRIC]);
  });

  it('has a dashboard of restores in flight, their throughput and their failures', () => {
    const { template } = monitored();
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
    for (const text of ['Restores in flight', 'Restore throughput', 'Restore failures', 'ExecutionsStarted', 'RunningTaskCount', 'ExecutionsSucceeded', 'ExecutionsFailed', COPIER_FAILURES_METRIC,
      'Copier throughput (bytes per second of copying)', copierBytesMetric('restore'), copierMillisecondsMetric('restore'), copierBytesMetric('backup'), '1000 * restore_bytes / restore_ms', '1000 * backup_bytes / backup_ms']) {
      expect(body, text).toContain(text);
    }
  });
});

describe('stage configuration: workflow logs', () => {
  const base = { account: '111111111111', region: 'eu-west-1' };
  it('are ERROR without execution data by default, more when a stage says so', () => {
    expect(stageConfigFrom(new App({ context: base }).node)).toMatchObject({ workflowLogLevel: 'ERROR', workflowLogExecutionData: false });
    expect(stageConfigFrom(new App({ context: { ...base, workflowLogLevel: 'ALL', workflowLogExecutionData: 'true' } }).node)).toMatchObject({ workflowLogLevel: 'ALL', workflowLogExecutionData: true });
    expect(stageConfigFrom(new App({ context: { ...base, stages: { dev: { workflowLogExecutionData: true } } } }).node).workflowLogExecutionData).toBe(true);
    expect(() => stageConfigFrom(new App({ context: { ...base, workflowLogLevel: 'DEBUG' } }).node)).toThrow(/workflowLogLevel/);
  });
});

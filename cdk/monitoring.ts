// Alarms and a dashboard for one stage: an SNS topic the stage's configuration subscribes e-mail
// addresses and HTTPS endpoints to (cdk/config.ts alarmEmails, alarmHttpsUrls), alarms on what
// means a restore or backup went wrong or the API is unwell, and a dashboard of restores in flight,
// their throughput and their failures. Every alarm treats missing data as "not breaching": a quiet
// stage is a healthy one.
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DONE_FIELDS } from '../copier/done-line.ts';
import type { StageConfig } from './config.ts';

export interface MonitoringProps {
  config: StageConfig;
  stateMachines: Record<string, sfn.IStateMachine>;
  functions: lambda.IFunction[];
  api: apigwv2.IHttpApi;
  tables: Record<string, dynamodb.ITable>;
  cluster: ecs.ICluster;
  /** the copier's log group: a failing copier ends with one JSON line {"error","reason"} (copier/main.ts) */
  copierLogGroup: logs.ILogGroup;
}

/** The namespace of the stage's own metrics (the copier failure count from its log). */
export const metricNamespace = (stage: string) => `ShareBackup/${stage}`;
export const COPIER_FAILURES_METRIC = 'CopierFailures';
/** From the copier's success line (copier/done-line.ts), per mode: bytes copied and milliseconds taken. */
export const copierBytesMetric = (mode: 'backup' | 'restore') => (mode === 'restore' ? 'RestoredBytes' : 'BackedUpBytes');
export const copierMillisecondsMetric = (mode: 'backup' | 'restore') => (mode === 'restore' ? 'RestoreCopyMilliseconds' : 'BackupCopyMilliseconds');

const PERIOD = Duration.minutes(5);

interface CopierThroughput {
  bytes: cloudwatch.Metric;
  milliseconds: cloudwatch.Metric;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    const prefix = `share-backup-${config.stage}`;

    this.topic = new sns.Topic(this, 'AlarmTopic', { topicName: `${prefix}-alarms`, displayName: `Share backup ${config.stage} alarms`, enforceSSL: true });
    for (const email of config.alarmEmails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    for (const url of config.alarmHttpsUrls) this.topic.addSubscription(new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }));
    // not encrypted with KMS: it carries alarm state changes only (name, metric, threshold), and
    // CloudWatch alarms cannot publish to a topic under the AWS managed key aws/sns

    const alarm = (name: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new actions.SnsAction(this.topic));
      created.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(created);
      return created;
    };

    // ---- workflows: an execution that failed, timed out or was aborted ----------------------
    for (const [name, machine] of Object.entries(props.stateMachines)) {
      const opts = { period: PERIOD, statistic: cloudwatch.Stats.SUM };
      alarm(`${name}-executions-failed`, machine.metricFailed(opts), `A ${name} execution failed (the copier failed or was killed, or a step did): see the record's fail_reason and the execution's history.`);
      alarm(`${name}-executions-timed-out`, machine.metricTimedOut(opts), `A ${name} execution timed out.`);
      alarm(`${name}-executions-aborted`, machine.metricAborted(opts), `A ${name} execution was stopped by hand (StopExecution): its records are left as they were at that moment.`);
    }

    // ---- the copier: a run that ended with an error line ----------------------------------
    const copierFailures = new logs.MetricFilter(this, 'CopierFailureFilter', {
      logGroup: props.copierLogGroup,
      filterPattern: logs.FilterPattern.exists('$.error'),
      metricNamespace: metricNamespace(config.stage),
      metricName: COPIER_FAILURES_METRIC,
      metricValue: '1',
    }).metric({ period: PERIOD, statistic: cloudwatch.Stats.SUM });
    // ---- the copier: what a finished run copied, and how long it took ----------------------------
    const copierDone = (mode: 'backup' | 'restore', metricName: string, field: string) => new logs.MetricFilter(this, `Copier${mode[0]!.toUpperCase()}${mode.slice(1)}${field[0]!.toUpperCase()}${field.slice(1)}Filter`, {
      logGroup: props.copierLogGroup,
      filterPattern: logs.FilterPattern.stringValue(`$.${DONE_FIELDS.mode}`, '=', mode),
      metricNamespace: metricNamespace(config.stage),
      metricName,
      metricValue: `$.${field}`,
    }).metric({ period: PERIOD, statistic: cloudwatch.Stats.SUM });
    const copied = Object.fromEntries((['restore', 'backup'] as const).map((mode) => [mode, {
      bytes: copierDone(mode, copierBytesMetric(mode), DONE_FIELDS.bytes),
      milliseconds: copierDone(mode, copierMillisecondsMetric(mode), DONE_FIELDS.milliseconds),
    }])) as Record<'restore' | 'backup', CopierThroughput>;
    alarm('copier-failures', copierFailures, 'A copier task exited with an error ({"error","reason"} on its log). A task killed before it could write (SIGKILL, out of memory) shows as a failed execution instead.');

    // ---- Lambdas ----------------------------------------------------------------------------
    for (const fn of props.functions) {
      const short = Stack.of(this).resolve(fn.node.id) as string;
      alarm(`${short}-errors`, fn.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }), `${short}: invocations that ended in an error.`);
      alarm(`${short}-throttles`, fn.metricThrottles({ period: PERIOD, statistic: cloudwatch.Stats.SUM }), `${short}: throttled invocations (account or reserved concurrency exhausted).`);
    }

    // ---- API ----------------------------------------------------------------------------------
    alarm('api-5xx', props.api.metricServerError({ period: PERIOD, statistic: cloudwatch.Stats.SUM }), 'The API answered 5xx (the Lambda failed or timed out, or API Gateway did).');
    alarm('api-latency-p99', props.api.metricLatency({ period: PERIOD, statistic: cloudwatch.Stats.percentile(99) }),
      `The API's p99 latency over 5 minutes is at least ${config.apiLatencyP99Millis} ms.`, config.apiLatencyP99Millis);

    // ---- DynamoDB -------------------------------------------------------------------------------
    for (const [name, table] of Object.entries(props.tables)) {
      const throttled = new cloudwatch.MathExpression({
        expression: 'FILL(r, 0) + FILL(w, 0)',
        usingMetrics: {
          r: table.metric('ReadThrottleEvents', { period: PERIOD, statistic: cloudwatch.Stats.SUM }),
          w: table.metric('WriteThrottleEvents', { period: PERIOD, statistic: cloudwatch.Stats.SUM }),
        },
        label: `${name} throttle events`,
        period: PERIOD,
      });
      alarm(`${name}-table-throttled`, throttled, `DynamoDB throttled reads or writes on the ${name} table (on-demand: a sudden spike over twice the previous peak, or a hot key).`);
    }

    this.dashboard = this.buildDashboard(props, copierFailures, copied);
  }

  private buildDashboard(props: MonitoringProps, copierFailures: cloudwatch.IMetric, copied: Record<'restore' | 'backup', CopierThroughput>): cloudwatch.Dashboard {
    const { config } = props;
    const restore = props.stateMachines.restore!;
    const opts = { period: PERIOD, statistic: cloudwatch.Stats.SUM };
    // Container Insights (enabled on the cluster): copier tasks running = restores and backups copying
    const runningTasks = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: props.cluster.clusterName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: PERIOD,
      label: 'copier tasks running (restores + backups)',
    });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `share-backup-${config.stage}`,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 2,
        markdown: `# Share backup ${config.stage}: restores\nIn flight: executions started and copier tasks running. Throughput: restores succeeded per 5 minutes, and the bytes the copier wrote per second of copying, over the restores (and backups) that finished in each 5 minutes (from the copier's last log line). Failures: executions failed, timed out, aborted; copier error exits.`,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Restores in flight',
        width: 6,
        left: [restore.metricStarted({ ...opts, label: 'restores started' }), runningTasks],
        right: [new cloudwatch.MathExpression({
          expression: 'RUNNING_SUM(FILL(s, 0) - FILL(ok, 0) - FILL(f, 0) - FILL(t, 0) - FILL(a, 0))',
          usingMetrics: { s: restore.metricStarted(opts), ok: restore.metricSucceeded(opts), f: restore.metricFailed(opts), t: restore.metricTimedOut(opts), a: restore.metricAborted(opts) },
          label: 'restores running (started − ended, since the start of the graph)',
          period: PERIOD,
        })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Restore throughput',
        width: 6,
        left: [restore.metricSucceeded({ ...opts, label: 'restores succeeded' })],
        right: [restore.metricTime({ period: PERIOD, statistic: cloudwatch.Stats.percentile(50), label: 'execution time p50 (ms)' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Copier throughput (bytes per second of copying)',
        width: 6,
        left: (['restore', 'backup'] as const).map((mode) => new cloudwatch.MathExpression({
          // the bytes of the runs that finished in the period over the time they took: a run's
          // average speed, weighted by its length
          expression: `1000 * ${mode}_bytes / ${mode}_ms`,
          usingMetrics: { [`${mode}_bytes`]: copied[mode].bytes, [`${mode}_ms`]: copied[mode].milliseconds },
          label: `${mode}s: bytes/s`,
          period: PERIOD,
        })),
        right: [copied.restore.bytes.with({ label: 'bytes restored' }), copied.backup.bytes.with({ label: 'bytes backed up' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Restore failures',
        width: 6,
        left: [
          restore.metricFailed({ ...opts, label: 'failed' }),
          restore.metricTimedOut({ ...opts, label: 'timed out' }),
          restore.metricAborted({ ...opts, label: 'aborted' }),
          copierFailures,
        ],
      }),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }));
    return dashboard;
  }
}

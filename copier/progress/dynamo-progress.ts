// The progress sink on DynamoDB: the progress record (restore or backup) gets the counters, the
// percent record gets Manila's "0".."100" string in the configured attribute. When both are the
// same item (a backup: its own record), one UpdateItem carries both. The writes go through
// dynamodb-http.ts (AWS_ENDPOINT_URL_DYNAMODB locally), on the main thread: they are a request a
// second at most, asynchronous, and the light client loads in a few ms.
import { DynamoDbHttpClient, type UpdateItemClient, type UpdateItemInput } from './dynamodb-http.ts';
import type { ProgressSink, ProgressSnapshot } from './progress.ts';

export interface RecordRef {
  table: string;
  id: string;
}

export interface DynamoProgressTargets {
  progress?: RecordRef;
  percent?: RecordRef & { attribute: string };
  /**
   * backup: the final write (phase done) also records what the backup holds, `files` and `bytes`
   * (the totals the run ends with, those of its summary.json); restores are checked against them
   */
  recordMeasured?: boolean;
}

/** Time a single progress write may take before it is abandoned (it is best effort). */
const WRITE_TIMEOUT_MS = 10_000;

interface Assignment {
  name: string;
  value: unknown;
}

/** An UpdateItem that SETs the given attributes on an existing item (never creates one). */
export function updateInput(ref: RecordRef, assignments: Assignment[]): UpdateItemInput {
  const names: Record<string, string> = { '#id': 'id' };
  const values: Record<string, unknown> = {};
  const sets = assignments.map((assignment, i) => {
    names[`#a${i}`] = assignment.name;
    values[`:v${i}`] = assignment.value;
    return `#a${i} = :v${i}`;
  });
  return {
    TableName: ref.table,
    Key: { id: ref.id },
    UpdateExpression: `SET ${sets.join(', ')}`,
    // progress of a record that is gone (deleted meanwhile) must not resurrect it as a stub
    ConditionExpression: 'attribute_exists(#id)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

function counterAssignments(snapshot: ProgressSnapshot): Assignment[] {
  return [
    { name: 'phase', value: snapshot.phase },
    { name: 'files_total', value: snapshot.files_total },
    { name: 'files_done', value: snapshot.files_done },
    { name: 'bytes_total', value: snapshot.bytes_total },
    { name: 'bytes_done', value: snapshot.bytes_done },
    { name: 'eta_seconds', value: snapshot.eta_seconds },
    { name: 'warnings', value: snapshot.warnings },
    { name: 'updated_at', value: snapshot.updated_at },
  ];
}

function sameRecord(a: RecordRef | undefined, b: RecordRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.table === b.table && a.id === b.id;
}

/** The UpdateItem inputs one snapshot turns into (pure, so it can be checked without a database). */
export function snapshotUpdates(targets: DynamoProgressTargets, snapshot: ProgressSnapshot): UpdateItemInput[] {
  const updates: UpdateItemInput[] = [];
  const percent = targets.percent ? { name: targets.percent.attribute, value: snapshot.percent } : undefined;
  if (targets.progress) {
    const assignments = counterAssignments(snapshot);
    if (targets.recordMeasured && snapshot.phase === 'done') {
      assignments.push({ name: 'files', value: snapshot.files_total }, { name: 'bytes', value: snapshot.bytes_total });
    }
    if (percent && sameRecord(targets.progress, targets.percent)) assignments.push(percent);
    updates.push(updateInput(targets.progress, assignments));
  }
  if (targets.percent && percent && !sameRecord(targets.progress, targets.percent)) {
    updates.push(updateInput(targets.percent, [percent]));
  }
  return updates;
}

export class DynamoProgressSink implements ProgressSink {
  private client: UpdateItemClient | undefined;

  constructor(private readonly targets: DynamoProgressTargets, client?: UpdateItemClient) {
    this.client = client;
  }

  async write(snapshot: ProgressSnapshot): Promise<void> {
    await Promise.all(snapshotUpdates(this.targets, snapshot).map((input) => this.send(input)));
  }

  /**
   * The failed run's last word, one UpdateItem: the reason and the counters as they stood, so the
   * record's files_done/bytes_done/warnings are final. No eta (nothing is coming), no phase (the
   * workflow sets "failed"), and no percent: the workflow settles the backup's restore_progress.
   */
  async fail(reason: string, last: ProgressSnapshot): Promise<void> {
    if (!this.targets.progress) return;
    const counters = counterAssignments(last).filter((a) => a.name !== 'phase' && a.name !== 'eta_seconds' && a.name !== 'updated_at');
    await this.send(updateInput(this.targets.progress, [
      ...counters,
      { name: 'eta_seconds', value: null },
      { name: 'fail_reason', value: reason },
      { name: 'updated_at', value: new Date().toISOString() },
    ]));
  }

  private async send(input: UpdateItemInput): Promise<void> {
    // made at the first write: a task without a region or endpoint fails its progress writes (best
    // effort, logged), never its copy
    this.client ??= new DynamoDbHttpClient();
    await this.client.updateItem(input, AbortSignal.timeout(WRITE_TIMEOUT_MS));
  }
}

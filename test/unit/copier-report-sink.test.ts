// The copier's report sink on DynamoDB (copier/progress/dynamo-report.ts) against a recording client: items
// keyed by operation and seq, batches of at most 25, the cap, the summary item, and best effort
// per entry (a refused or lost write costs that entry, never the run, and the counts stay exact).
import { describe, expect, it } from 'vitest';
import { AwsRequestError, type ItemWriteClient } from '../../copier/progress/dynamodb-http.ts';
import { DynamoReportSink } from '../../copier/progress/dynamo-report.ts';
import type { ReportEntry } from '../../copier/progress/report.ts';

type Item = Record<string, unknown>;

class RecordingClient implements ItemWriteClient {
  readonly stored: Item[] = [];
  readonly batchSizes: number[] = [];
  /** items whose path matches are refused, failing their whole batch as DynamoDB does */
  refuse = (_item: Item) => false;
  /** the first N batch calls leave their last item unprocessed (throttling) */
  throttleBatches = 0;
  down = false;

  async putItem(_table: string, item: Item): Promise<void> {
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (this.refuse(item)) throw new AwsRequestError('ValidationException', 'One or more parameter values were invalid', 400);
    this.stored.push(item);
  }

  async batchPutItems(_table: string, items: Item[]): Promise<Item[]> {
    this.batchSizes.push(items.length);
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (items.some(this.refuse)) throw new AwsRequestError('ValidationException', 'One or more parameter values were invalid', 400);
    if (this.throttleBatches > 0 && items.length > 1) {
      this.throttleBatches -= 1;
      this.stored.push(...items.slice(0, -1));
      return items.slice(-1);
    }
    this.stored.push(...items);
    return [];
  }
}

const entry = (i: number): ReportEntry => ({ path: `d/f${i}`, what: 'xattrs', action: 'not-kept', why: `EOPNOTSUPP ${i}` });
const entries = (client: RecordingClient) => client.stored.filter((item) => item.seq !== 0);
const summary = (client: RecordingClient) => client.stored.find((item) => item.seq === 0);

describe('DynamoReportSink', () => {
  it('stores each entry under the operation id with seq 1..n, in batches of at most 25, then a summary at seq 0', async () => {
    const client = new RecordingClient();
    const sink = new DynamoReportSink({ table: 'reports', operationId: 'r1' }, client);
    for (let i = 1; i <= 60; i++) sink.add(entry(i));
    sink.add({ path: 'x', what: 'entry', action: 'moved-aside', why: 'a file where the backup has a directory', moved_to: 'x.moved-aside' });
    await sink.close();
    expect(Math.max(...client.batchSizes)).toBeLessThanOrEqual(25);
    const stored = entries(client).sort((a, b) => Number(a.seq) - Number(b.seq));
    expect(stored.map((item) => item.seq)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    expect(stored[0]).toEqual({ operation_id: 'r1', seq: 1, path: 'd/f1', what: 'xattrs', action: 'not-kept', why: 'EOPNOTSUPP 1' });
    expect(stored[60]).toMatchObject({ moved_to: 'x.moved-aside' });
    expect(summary(client)).toEqual({ operation_id: 'r1', seq: 0, reported: 61, stored: 61, truncated: false });
  });

  it('stores at most the cap, counts the rest, and says it truncated', async () => {
    const client = new RecordingClient();
    const sink = new DynamoReportSink({ table: 'reports', operationId: 'b1' }, client, { cap: 30 });
    for (let i = 1; i <= 100; i++) sink.add(entry(i));
    await sink.close();
    expect(entries(client)).toHaveLength(30);
    expect(summary(client)).toEqual({ operation_id: 'b1', seq: 0, reported: 100, stored: 30, truncated: true });
  });

  it('best effort per entry: a refused entry is lost alone, throttled ones are sent again, and an outage never throws', async () => {
    const client = new RecordingClient();
    client.refuse = (item) => item.path === 'd/f7';
    client.throttleBatches = 2;
    const errors: unknown[] = [];
    const sink = new DynamoReportSink({ table: 'reports', operationId: 'r1' }, client, { onWriteError: (e) => errors.push(e) });
    for (let i = 1; i <= 50; i++) sink.add(entry(i));
    await sink.close();
    expect(entries(client).map((item) => item.path)).not.toContain('d/f7');
    expect(entries(client)).toHaveLength(49);
    expect(summary(client)).toMatchObject({ reported: 50, stored: 49 });
    expect(errors.length).toBeGreaterThan(0);

    const down = new RecordingClient();
    down.down = true;
    const lost = new DynamoReportSink({ table: 'reports', operationId: 'r2' }, down);
    for (let i = 1; i <= 30; i++) lost.add(entry(i));
    await expect(lost.close()).resolves.toBeUndefined();
    expect(lost).toMatchObject({ reported: 30, stored: 0, lost: 30 });
  });

  it('keeps at most maxPending entries waiting on a slow DynamoDB; the others are counted, not held', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const client = new RecordingClient();
    const slow: ItemWriteClient = {
      putItem: (table, item) => client.putItem(table, item),
      batchPutItems: async (table, items) => { await gate; return client.batchPutItems(table, items); },
    };
    const sink = new DynamoReportSink({ table: 'reports', operationId: 'r1' }, slow, { maxPending: 100 });
    for (let i = 1; i <= 1000; i++) sink.add(entry(i));
    release();
    await sink.close();
    expect(entries(client).length).toBeLessThanOrEqual(100);
    expect(sink.reported).toBe(1000);
    expect(summary(client)).toMatchObject({ reported: 1000, truncated: false });
  });
});

// The CLI's pure parts: output formats and column selection, name-or-ID resolution, microversion
// checks, progress text and the --wait loop (on a fake record and a fake stream).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ApiError, CliError, createClient, type ShareClient } from '../../cli/client.ts';
import { renderList, renderRecord, renderTable, selectColumns } from '../../cli/output.ts';
import { findResource, SHARE } from '../../cli/resolve.ts';
import { warningsLine } from '../../cli/program.ts';
import { formatBytes, formatDuration, progressLine, Throughput, waitUntilSettled, type Outcome, type WaitSpec } from '../../cli/wait.ts';

const COLUMNS = [{ header: 'ID', key: 'id' }, { header: 'Name', key: 'name' }, { header: 'Share Proto', key: 'share_proto' }];
const ROWS = [
  { id: 'a1', name: 'src', share_proto: 'NFS', extra: 1 },
  { id: 'b22', name: null, share_proto: 'CIFS', extra: 2 },
];

describe('output', () => {
  it('draws an aligned table, one line per cell line', () => {
    expect(renderTable(['ID', 'Path'], [['1', 'a\nlonger'], ['22', 'b']])).toBe([
      '+----+--------+',
      '| ID | Path   |',
      '+----+--------+',
      '| 1  | a      |',
      '|    | longer |',
      '| 22 | b      |',
      '+----+--------+',
      '',
    ].join('\n'));
  });

  it('lists as json and yaml with column headers as keys, and as value rows', () => {
    expect(JSON.parse(renderList(ROWS, COLUMNS, { format: 'json', columns: [] }))).toEqual([
      { ID: 'a1', Name: 'src', 'Share Proto': 'NFS' },
      { ID: 'b22', Name: null, 'Share Proto': 'CIFS' },
    ]);
    expect(parseYaml(renderList(ROWS, COLUMNS, { format: 'yaml', columns: ['id'] }))).toEqual([{ ID: 'a1' }, { ID: 'b22' }]);
    expect(renderList(ROWS, COLUMNS, { format: 'value', columns: ['Share Proto', 'ID'] })).toBe('NFS a1\nCIFS b22\n');
    expect(renderList(ROWS, COLUMNS, { format: 'table', columns: [] })).toContain('| b22 | None | CIFS        |');
  });

  it('shows one record as sorted Field/Value rows; -c picks fields by key', () => {
    const record = { status: 'available', id: 'x', export_locations: [{ path: '/p' }] };
    expect(renderRecord(record, { format: 'table', columns: [] }, { export_locations: (v) => (v as Array<{ path: string }>)[0]!.path }))
      .toMatch(/Field.*\n.*\n\| export_locations \| \/p {8}\|\n\| id {15}\| x {9}\|\n\| status {11}\| available \|/);
    expect(renderRecord(record, { format: 'value', columns: ['status', 'id'] })).toBe('available\nx\n');
    expect(JSON.parse(renderRecord(record, { format: 'json', columns: [] }))).toEqual(record);
  });

  it('an unknown -c column is an error that lists the columns', () => {
    expect(() => selectColumns(COLUMNS, ['ID', 'Nope'])).toThrow("Unknown column 'Nope'; the columns are 'ID', 'Name', 'Share Proto'.");
  });
});

/** A client whose answers are a table of "METHOD path" → body or error. */
function fakeClient(answers: Record<string, unknown>): ShareClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    endpoint: 'http://fake',
    apiVersion: { major: 2, minor: 91 },
    requireApiVersion: () => undefined,
    request: async <T>(method: string, path: string) => {
      calls.push(`${method} ${path}`);
      const answer = answers[`${method} ${path}`];
      if (answer instanceof Error) throw answer;
      if (answer === undefined) throw new ApiError(`no fake answer for ${method} ${path}`, 404);
      return answer as T;
    },
  };
}

describe('name-or-ID resolution', () => {
  const id = '0c5e2b1a-7f4e-4c1d-9a43-2f0d8e6b1c77';
  const other = '1d6f3c2b-8a5f-4d2e-8b54-3a1e9f7c2d88';

  it('an existing ID is used as it is', async () => {
    const client = fakeClient({ [`GET /shares/${id}`]: { share: { id, name: 'src' } } });
    expect(await findResource(client, SHARE, id)).toEqual({ id, name: 'src' });
    expect(client.calls).toEqual([`GET /shares/${id}`]);
  });

  it('a name matching one share resolves; none or several are errors', async () => {
    const client = fakeClient({
      'GET /shares/detail?name=src': { shares: [{ id, name: 'src' }] },
      'GET /shares/detail?name=twin': { shares: [{ id: other, name: 'twin' }, { id, name: 'twin' }] },
      'GET /shares/detail?name=nope': { shares: [] },
    });
    expect((await findResource(client, SHARE, 'src')).id).toBe(id);
    await expect(findResource(client, SHARE, 'twin')).rejects.toThrow(`More than one share exists with the name 'twin' (${id}, ${other}); use an ID.`);
    await expect(findResource(client, SHARE, 'nope')).rejects.toThrow("No share with a name or ID of 'nope' exists.");
  });

  it("an ID the API refuses (403) is the API's answer, not a name lookup", async () => {
    const client = fakeClient({ [`GET /shares/${id}`]: new ApiError('Share belongs to another project.', 403) });
    await expect(findResource(client, SHARE, id)).rejects.toThrow('Share belongs to another project.');
    expect(client.calls).toHaveLength(1);
  });

  it('an unknown ID is also looked up as a name', async () => {
    const client = fakeClient({ [`GET /shares/detail?name=${id}`]: { shares: [] } });
    await expect(findResource(client, SHARE, id)).rejects.toThrow(`No share with a name or ID of '${id}' exists.`);
  });
});

describe('client settings', () => {
  it('accepts 2.0 to 2.91 and refuses the rest with the range', () => {
    expect(createClient({ endpoint: 'http://h:1/v2/', token: 't', apiVersion: '2.80' }).endpoint).toBe('http://h:1');
    expect(() => createClient({ endpoint: 'http://h', token: 't', apiVersion: '2.92' })).toThrow('API version 2.92 is not supported: use 2.0 to 2.91.');
    expect(() => createClient({ endpoint: 'http://h', token: 't', apiVersion: 'latest' })).toThrow(CliError);
    expect(() => createClient({ endpoint: 'not a url', token: 't', apiVersion: '2.91' })).toThrow('Invalid endpoint');
  });

  it('names the feature and both versions when the microversion is too low', () => {
    const client = createClient({ endpoint: 'http://h', token: 't', apiVersion: '2.90' });
    expect(() => client.requireApiVersion('2.91', 'Restoring onto a target share')).toThrow(
      'Restoring onto a target share is only available with API version >= 2.91; --os-share-api-version is 2.90.');
    expect(() => client.requireApiVersion('2.80', 'Share backups')).not.toThrow();
  });

  it('without a token, says where to get one before sending anything', async () => {
    await expect(createClient({ endpoint: 'http://h', token: undefined, apiVersion: '2.91' }).request('GET', '/shares'))
      .rejects.toThrow('No token given: pass --os-token or set OS_TOKEN');
  });
});

describe('progress text', () => {
  it('formats bytes, durations and throughput', () => {
    expect([formatBytes(0), formatBytes(1536), formatBytes(5 * 1024 ** 3)]).toEqual(['0 B', '1.5 KiB', '5.0 GiB']);
    expect([formatDuration(null), formatDuration(7), formatDuration(65), formatDuration(3 * 3600 + 120)]).toEqual(['--', '7s', '1m05s', '3h02m']);
    const throughput = new Throughput();
    throughput.add(0, 1000);
    expect(throughput.text()).toBe('--/s');
    throughput.add(2 * 1024 * 1024, 3000);
    expect(throughput.text()).toBe('1.0 MiB/s');
  });

  it('a progress line has phase, percent, files, bytes, speed and ETA', () => {
    expect(progressLine('restore r1', { percent: 42.7, phase: 'copying', filesDone: 3, filesTotal: 10, bytesDone: 2048, bytesTotal: 4096, etaSeconds: 5 }, new Throughput()))
      .toBe('restore r1: copying 42%, 3/10 files, 2.0 KiB/4.0 KiB, --/s, ETA 5s');
    expect(progressLine('backup b1', { percent: 100, phase: 'available' }, new Throughput())).toBe('backup b1: available 100%');
  });
});

/** A non-TTY stream that keeps what was written. */
function captureStream(): NodeJS.WriteStream & { text: () => string } {
  let text = '';
  const stream = new Writable({ write(chunk, _encoding, done) { text += String(chunk); done(); } });
  return Object.assign(stream, { text: () => text }) as unknown as NodeJS.WriteStream & { text: () => string };
}

describe('--wait loop', () => {
  type State = { percent: number; outcome: Outcome };
  const spec = (states: State[]): WaitSpec<State> => {
    let i = 0;
    return {
      label: 'restore r1',
      resumeCommand: 'share restore show r1 --wait',
      read: async () => states[Math.min(i++, states.length - 1)]!,
      sample: (s) => ({ percent: s.percent, phase: 'copying' }),
      outcome: (s) => s.outcome,
    };
  };

  it('prints a line per change and returns the settled record', async () => {
    const stream = captureStream();
    const done = await waitUntilSettled(spec([
      { percent: 10, outcome: { state: 'running' } },
      { percent: 10, outcome: { state: 'running' } },
      { percent: 60, outcome: { state: 'running' } },
      { percent: 100, outcome: { state: 'succeeded' } },
    ]), { stream, intervalMs: 1 });
    expect(done.percent).toBe(100);
    expect(stream.text()).toBe('restore r1: copying 10%\nrestore r1: copying 60%\nrestore r1: copying 100%\n');
  });

  it('an error state fails with the reason', async () => {
    const stream = captureStream();
    await expect(waitUntilSettled(spec([{ percent: 5, outcome: { state: 'failed', reason: 'disk full' } }]), { stream, intervalMs: 1 }))
      .rejects.toThrow('Restore r1 failed: disk full');
  });
});

describe('the warnings line a --wait ends with', () => {
  it('gives the count, and the command that lists them when there are any', () => {
    expect(warningsLine('backup', 'b1', { warnings: 0 })).toBe('backup b1: 0 warnings.');
    expect(warningsLine('backup', 'b1', {})).toBe('backup b1: 0 warnings.');
    expect(warningsLine('backup', 'b1', { warnings: 3 })).toBe('backup b1: 3 warnings (what it could not keep or had to resolve); read them with: share backup report b1');
    expect(warningsLine('restore', 'r1', { warnings: 1 })).toBe('restore r1: 1 warning (what it could not keep or had to resolve); read them with: share restore report r1');
  });
});

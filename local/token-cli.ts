// `npm run --silent token -- --project <id> --roles <r1,r2> [--user <sub>] [--expires <span>]`
// prints a JWT signed with the local stack's key (DATA_DIR, default .local/) and nothing else on
// stdout, so it can be captured: TOKEN=$(npm run --silent token -- --project demo --roles member)
import { parseArgs } from 'node:util';
import { resolveDataDir } from './env.ts';
import { openIdentity } from './identity.ts';

const USAGE = 'usage: npm run --silent token -- --project <id> --roles <reader|member|admin>[,...] [--user <sub>] [--expires 12h]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      project: { type: 'string' },
      roles: { type: 'string', default: 'member' },
      user: { type: 'string' },
      expires: { type: 'string', default: '12h' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  if (!values.project) throw new Error(`--project is required\n${USAGE}`);
  const roles = values.roles.split(',').map((r) => r.trim()).filter((r) => r !== '');
  const expiresIn = /^\d+$/.test(values.expires) ? Number(values.expires) : values.expires;
  const identity = await openIdentity(resolveDataDir());
  const token = await identity.mintToken({ project: values.project, roles, sub: values.user, expiresIn });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});

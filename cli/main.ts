// Entry point of the `share` command (cli/bin.mjs runs it through tsx): runs the program and maps
// every failure to one sentence on stderr and a non-zero exit code (2 for a usage error).
import { CommanderError } from 'commander';
import { CliError } from './client.ts';
import { buildProgram } from './program.ts';

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram({ stdout: (text) => process.stdout.write(text) });
  program.exitOverride();
  for (const command of allCommands(program)) command.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed the message (or the help) already
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      return err.exitCode === 0 ? 0 : 2;
    }
    const message = err instanceof CliError ? err.message : `Unexpected error: ${(err as Error).message ?? String(err)}`;
    process.stderr.write(`${message}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

function allCommands(command: ReturnType<typeof buildProgram>): ReturnType<typeof buildProgram>[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

process.exitCode = await run(process.argv.slice(2));

import { CommanderError, type Command } from 'commander';
import { ConfigError } from '../config.ts';
import { EmbeddedDatabaseLockedError } from '../db/embedded.ts';
import type { UserErrorShape } from '../modules/user-error.ts';
import { ListenError } from '../listen.ts';

/** Exit codes: 1 for a failure or a refusal, 2 for a command line or setting that is wrong. */
const FAILED = 1;
export const USAGE = 2;

/** A failure the CLI explains in one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command line Roster cannot run: an unknown command, a bad argument, a missing confirmation. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, USAGE);
    this.name = 'UsageError';
  }
}

/** A change the service refused (its `userErrors`, each with its code); nothing changed. */
export class RefusedError extends CliError {
  constructor(userErrors: UserErrorShape[], exitCode = FAILED) {
    super(userErrors.map((error) => `${error.message} (${error.code})`).join(' '), exitCode);
    this.name = 'RefusedError';
  }
}

/** The commands `argv` names, from the program down (options and arguments left out). */
function commandChain(program: Command, argv: readonly string[]): Command[] {
  const chain = [program];
  for (const arg of argv) {
    const next = chain.at(-1)!.commands.find((command) => command.name() === arg || command.aliases().includes(arg));
    if (!next) break;
    chain.push(next);
  }
  return chain;
}

const commandName = (chain: Command[]) => chain.map((command) => command.name()).join(' ');

/** One line for a Commander error: its message without the "error: " prefix and with the suggestion inline. */
function commanderMessage(error: CommanderError): string {
  return error.message
    .replace(/^error: /, '')
    .replace(/\s*\n\(Did you mean (.+)\?\)/, ' (did you mean $1?)')
    .replace(/\n/g, ' ');
}

/**
 * What to tell the user about a failure that is theirs to fix, in one line without a stack, and
 * the exit code; undefined for anything else (a bug, whose stack helps).
 */
export function explainFailure(
  error: unknown,
  program: Command,
  argv: readonly string[],
): { message: string | null; exitCode: number } | undefined {
  if (error instanceof CommanderError) {
    // Help and version were printed; they are no failure. Help printed for a command group
    // given without a command (`roster realm`) says it all.
    if (error.exitCode === 0) return { message: null, exitCode: 0 };
    if (error.code === 'commander.help') return { message: null, exitCode: USAGE };
    const chain = commandChain(program, argv);
    if (error.code === 'commander.unknownCommand') {
      const commands = chain
        .at(-1)!
        .commands.map((command) => command.name())
        .join(', ');
      return {
        message: `${commanderMessage(error)}; the commands are ${commands} (${commandName(chain)} --help says more)`,
        exitCode: USAGE,
      };
    }
    return { message: `${commanderMessage(error)} (${commandName(chain)} --help says more)`, exitCode: USAGE };
  }
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof ConfigError) return { message: error.message, exitCode: USAGE };
  if (error instanceof EmbeddedDatabaseLockedError || error instanceof ListenError) {
    return { message: error.message, exitCode: FAILED };
  }
  return undefined;
}

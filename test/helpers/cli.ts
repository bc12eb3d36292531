import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, where `src/main.ts` runs from. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The command that runs the CLI from its sources. */
export const ROSTER = [process.execPath, '--import', 'tsx', 'src/main.ts'] as const;

/**
 * The environment of a `roster` child process: this one's without any Roster setting or database
 * URL (so it uses the embedded database), plus `settings`.
 */
export function rosterEnv(settings: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('ROSTER_') || key === 'DATABASE_URL' || key === 'TEST_DATABASE_URL')
      continue;
    env[key] = value;
  }
  return { ...env, NODE_ENV: 'test', ...settings };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `roster <args>` to its end, with `input` on its standard input (not a terminal). */
export function runRoster(args: string[], settings: Record<string, string>, input = ''): Promise<Finished> {
  return runCommand(ROSTER[0], [...ROSTER.slice(1), ...args], settings, input);
}

/** Runs a command from the repository root with `rosterEnv(settings)` to its end. */
export function runCommand(
  command: string,
  args: string[],
  settings: Record<string, string>,
  input = '',
): Promise<Finished> {
  const child = spawn(command, args, { cwd: ROOT, env: rosterEnv(settings), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What Roster itself wrote: the lines of `text` without blank ones and Node's runtime warnings. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() && !line.startsWith('oidc-provider WARNING'));
}

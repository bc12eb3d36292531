import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, runRoster, type Finished } from '../helpers/cli.ts';

// `roster outbox` on an embedded data directory on disk; listing real messages, and after a
// kill -9, is covered by test/outbox/kill.test.ts.
const TIMEOUT_MS = 150_000;

let root: string;
let dataDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roster-cli-outbox-'));
  dataDir = path.join(root, 'data');
});

afterAll(() => rm(root, { recursive: true, force: true }));

const roster = (...args: string[]) => runRoster(args, { ROSTER_DATA_DIR: dataDir });

function refusal(result: Finished, code: number): string {
  expect(result.code, result.stderr).toBe(code);
  expect(lines(result.stdout)).toEqual([]);
  expect(lines(result.stderr), result.stderr).toHaveLength(1);
  return lines(result.stderr)[0]!;
}

describe('roster outbox', () => {
  it(
    'refuses a bad flag before touching the database, and names an unknown realm',
    async () => {
      expect(refusal(await roster('outbox', '--status', 'sent'), 2)).toBe(
        'roster: --status: must be one of pending, delivered, dead, all; got "sent"',
      );
      expect(refusal(await roster('outbox', '--limit', '0'), 2)).toBe(
        'roster: --limit: must be a whole number, 1 or more; got "0"',
      );
      expect(refusal(await roster('outbox', '--limit', '1001'), 2)).toBe('roster: --limit: at most 1000; got "1001"');
      expect(refusal(await roster('outbox', '--realm', 'nowhere'), 1)).toBe(
        'roster: no realm named "nowhere" (NOT_FOUND)',
      );
    },
    TIMEOUT_MS,
  );

  it(
    'says when there is nothing pending, and prints an empty JSON array',
    async () => {
      const empty = await roster('outbox');
      expect(empty.code, empty.stderr).toBe(0);
      expect(lines(empty.stdout)).toEqual(['No pending messages in the outbox.']);
      const json = await roster('outbox', '--status', 'all', '--json');
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual([]);
    },
    TIMEOUT_MS,
  );
});

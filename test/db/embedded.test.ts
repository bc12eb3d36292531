import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { EmbeddedDatabaseLockedError, openEmbedded } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrator.ts';

const embeddedModule = new URL('../../src/db/embedded.ts', import.meta.url).href;

/** Tries to open `dataDir` from another Node process; resolves to what that process printed. */
async function openInOtherProcess(dataDir: string): Promise<string> {
  const script = `
    const { openEmbedded } = await import(${JSON.stringify(embeddedModule)});
    try {
      const db = await openEmbedded(${JSON.stringify(dataDir)});
      await db.close();
      console.log('opened');
    } catch (error) {
      console.log(error.message);
    }`;
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    script,
  ]);
  return stdout.trim();
}

describe('embedded database', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'roster-embedded-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  // Every migration on a data directory on disk: a minute and more on a busy 2-core machine.
  it('persists across close and reopen of its data directory', { timeout: 180_000 }, async () => {
    const first = await openDatabase({ dataDir });
    try {
      await migrate(first);
      await first.prisma.realm.create({ data: { name: 'persisted' } });
    } finally {
      // Released even when this fails: the next case opens the same directory.
      await first.close();
    }

    const second = await openDatabase({ dataDir });
    try {
      expect(await migrate(second)).toEqual([]);
      expect(await second.prisma.realm.findMany({ select: { name: true } })).toEqual([{ name: 'persisted' }]);
    } finally {
      await second.close();
    }
  });

  it('refuses a second open of the same data directory with a clear error', async () => {
    const db = await openEmbedded(dataDir);
    try {
      // Names the holder: its pid and (on Linux) its command line, and says what to do.
      const message = new RegExp(
        `^the embedded database in ${dataDir} is in use by process ${process.pid}` +
          `${process.platform === 'linux' ? ' \\(\\S*node\\b.*\\)' : ''}; ` +
          `stop that process \\(kill ${process.pid}\\) or set ROSTER_DATA_DIR to another directory$`,
      );
      const attempt = openEmbedded(dataDir);
      await expect(attempt).rejects.toBeInstanceOf(EmbeddedDatabaseLockedError);
      await expect(attempt).rejects.toThrow(message);
      expect(await openInOtherProcess(dataDir)).toMatch(message);
    } finally {
      await db.close();
    }
    expect(await openInOtherProcess(dataDir)).toBe('opened');
  });

  it('takes over the lock of a process that is gone and releases it on close', async () => {
    const lockFile = path.join(dataDir, 'pglite.lock');
    const { stdout } = await promisify(execFile)(process.execPath, ['-p', 'process.pid']);
    await writeFile(lockFile, stdout);

    const db = await openEmbedded(dataDir);
    expect((await readFile(lockFile, 'utf8')).split('\n')[0]).toBe(`${process.pid}`);
    await db.close();
    await expect(readFile(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes over a lock whose pid now belongs to another live process', async () => {
    const lockFile = path.join(dataDir, 'pglite.lock');
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      // Written by a process that had this pid before, and started at another time.
      await writeFile(lockFile, `${unrelated.pid}\n1\n${randomUUID()}\n`);
      const db = await openEmbedded(dataDir);
      expect((await readFile(lockFile, 'utf8')).split('\n')[0]).toBe(`${process.pid}`);
      await db.close();
    } finally {
      unrelated.kill();
    }
  });

  it('keeps its files private to its owner, also those an older version left open', { timeout: 180_000 }, async () => {
    const older = await mkdtemp(path.join(os.tmpdir(), 'roster-embedded-'));
    try {
      await chmod(older, 0o755);
      await writeFile(path.join(older, 'secret.key'), 'x\n', { mode: 0o644 });
      await chmod(path.join(older, 'secret.key'), 0o644);
      const db = await openDatabase({ dataDir: older });
      try {
        await migrate(db);
        await db.prisma.realm.create({ data: { name: 'private' } });
      } finally {
        await db.close();
      }
      const open = [];
      for (const entry of ['', ...(await readdir(older, { recursive: true }))]) {
        const { mode } = await stat(path.join(older, entry));
        if (mode & 0o077) open.push(`${entry || '.'} ${(mode & 0o777).toString(8)}`);
      }
      expect(open).toEqual([]);
    } finally {
      await rm(older, { recursive: true, force: true });
    }
  });
});

/**
 * What the HTTP benchmarks share: Roster started in this process on the embedded database and,
 * with `DATABASE_URL` naming a PostgreSQL server, on a throwaway database there; a load
 * process (the benchmark's own script, run with `--load`) whose window this process times in
 * CPU; memory figures.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { IN_MEMORY } from '../src/db/embedded.ts';
import { createLogger } from '../src/logger.ts';
import { startServer, type RosterServer } from '../src/server.ts';

/**
 * Runs `bench` on a server over the embedded database, then over a fresh PostgreSQL database if
 * `DATABASE_URL` is set. `BENCH_DATABASES=postgresql` (or `embedded`) runs only that one, e.g.
 * under a profiler.
 */
export async function onEachDatabase(
  name: string,
  bench: (label: string, server: RosterServer) => Promise<void>,
): Promise<void> {
  const only = process.env.BENCH_DATABASES?.split(',');
  if (!only || only.includes('embedded')) await withServer(undefined, (server) => bench('embedded', server));
  const serverUrl = process.env.DATABASE_URL;
  if (only && !only.includes('postgresql')) return;
  if (!serverUrl) {
    console.log('postgresql: skipped (set DATABASE_URL to a PostgreSQL server to run it)');
    return;
  }
  const database = `roster_bench_${name}_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  try {
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    await withServer(url.toString(), (server) => bench('postgresql', server));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  }
}

async function withServer(databaseUrl: string | undefined, fn: (server: RosterServer) => Promise<void>) {
  const config = loadConfig(
    {
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      ROSTER_SECRET_KEY: 'bench-secret-0123456789abcdef0123456789abcdef',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    { dataDir: IN_MEMORY },
  );
  const server = await startServer(config, createLogger('silent'));
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/**
 * Runs `script --load <json>` with `args` and returns the JSON it prints last, with the CPU time
 * this process (the server, with the embedded database's worker thread) spent between the
 * `start` line the load process prints and its exit.
 */
export function runLoad<T>(script: string, load: unknown, args: string[]): Promise<T & ServerCpu> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--load', JSON.stringify(load), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    let cpu: NodeJS.CpuUsage | undefined;
    let profiling: Promise<Session | null> | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (!cpu && output.includes('start\n')) {
        profiling = startProfile();
        cpu = process.cpuUsage();
        output = output.slice(output.indexOf('start\n') + 6);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 || !cpu) return reject(new Error(`load process exited ${code}`));
      const used = process.cpuUsage(cpu);
      const result = {
        ...(JSON.parse(output) as T),
        serverCpuMs: (used.user + used.system) / 1000,
        serverSystemCpuMs: used.system / 1000,
      };
      void stopProfile(profiling).then(() => resolve(result), reject);
    });
  });
}

/**
 * With `BENCH_PROFILE=<directory>`, the server process's CPU profile of each measured window is
 * written there (`.cpuprofile`, for Chrome DevTools or a script): where the time per operation goes.
 */
async function startProfile(): Promise<Session | null> {
  if (!process.env.BENCH_PROFILE) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(profiling: Promise<Session | null> | undefined): Promise<void> {
  const session = await profiling;
  if (!session) return;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  const directory = process.env.BENCH_PROFILE!;
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `server-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.error(`CPU profile of the server: ${file}`);
}

/** What a load process reports: completed and refused operations, the window and latency percentiles (ms). */
export interface LoadResult {
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p95: number;
}

/**
 * In a load process: runs `operation` from `concurrency` loops (each with its own state from
 * `prepare`) for 2 s of warm-up, prints `start`, then for `seconds`, and prints the result.
 */
export async function measure<S>(
  concurrency: number,
  seconds: number,
  prepare: (loop: number) => Promise<S>,
  operation: (state: S) => Promise<boolean>,
): Promise<void> {
  const states = await Promise.all(Array.from({ length: concurrency }, (_, loop) => prepare(loop)));
  const run = async (until: number, latencies: number[] | null) => {
    let ok = 0;
    let failed = 0;
    await Promise.all(
      states.map(async (state) => {
        while (performance.now() < until) {
          const started = performance.now();
          if (await operation(state)) ok++;
          else failed++;
          latencies?.push(performance.now() - started);
        }
      }),
    );
    return { ok, failed };
  };
  await run(performance.now() + 2000, null);
  process.stdout.write('start\n');
  const latencies: number[] = [];
  const started = performance.now();
  const { ok, failed } = await run(started + seconds * 1000, latencies);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const result: LoadResult = { ok, failed, seconds: elapsed, p50: at(0.5), p95: at(0.95) };
  process.stdout.write(JSON.stringify(result));
}

/** The server process's CPU time over a measured window (ms): all of it, and the kernel's part. */
export interface ServerCpu {
  serverCpuMs: number;
  serverSystemCpuMs: number;
}

/** One line of figures for a load result; `unit`: the operation, singular and plural. */
export function describeLoad(
  label: string,
  [one, many]: [string, string],
  concurrency: number,
  result: LoadResult & ServerCpu,
) {
  const per = (ms: number) => (ms / Math.max(result.ok, 1)).toFixed(2);
  return (
    `${label}: ${(result.ok / result.seconds).toFixed(0)} ${many}/s over ${result.seconds.toFixed(1)} s ` +
    `(${concurrency} connections; p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms; ` +
    `${result.failed} refused); server CPU ${per(result.serverCpuMs)} ms per ${one} ` +
    `(${per(result.serverSystemCpuMs)} of it in the kernel)`
  );
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** RSS and JS heap, after a collection when run with `--expose-gc`. */
export function memory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

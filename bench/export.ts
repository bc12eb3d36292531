/**
 * Export benchmark: `npm run bench:export` against realm `bench` (seed it with `npm run bench:seed
 * -- N`) in the PostgreSQL database at DATABASE_URL. Roster runs in this process; curl, in
 * another, downloads `GET /export/bench/users` (CSV, then NDJSON, default fields) of every user.
 * Prints, for two alternated rounds, rows/s, MiB/s and this process's RSS before, at its peak (sampled every 50 ms) and
 * after: the export streams, so the peak must not grow with the number of users.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startOnBenchRealm } from './bench-realm.ts';
import { memory, mib } from './harness.ts';

const realm = await startOnBenchRealm();
console.log(`Export of realm "bench": ${realm.users} users, PostgreSQL, node ${process.version}\n`);
// Twice each, alternated: the first round also pays for compiling the code on the path.
for (const format of ['csv', 'ndjson', 'csv', 'ndjson']) {
  const before = memory().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const started = performance.now();
  const { stdout } = await promisify(execFile)('curl', [
    '-sS',
    '--fail',
    '-o',
    '/dev/null',
    '-w',
    '%{size_download}',
    '-H',
    `authorization: Bearer ${realm.token}`,
    `${realm.baseUrl}/export/bench/users?format=${format}`,
  ]);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const bytes = Number(stdout);
  console.log(
    `${format.padEnd(6)} ${(realm.users / seconds).toFixed(0)} rows/s, ${mib(bytes / seconds)}/s, ${mib(bytes)} in ` +
      `${seconds.toFixed(1)} s; server RSS ${mib(before)} before, ${mib(peak)} at peak (+${mib(peak - before)}), ` +
      `${mib(memory().rss)} after`,
  );
}
await realm.close();

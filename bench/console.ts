/**
 * Console benchmark: `npm run bench:console -- [users] [runs]` (default 10000 users, 5 runs).
 * Starts Roster on the embedded database, fills realm `default` with `seed-demo`'s users, signs
 * one of its demo administrators (role Support: `users:read users:write`) in through the hosted
 * sign-in page in Debian's Chromium (headless, Playwright), then opens the console's Users screen
 * again and again in that tab: the time from the navigation to the first page of rows shown with
 * its total and the search box usable (the median of the runs), and the JavaScript and CSS the
 * first visit loaded, in bytes as sent (later visits use the browser's cache).
 */
import { chromium, type Page } from 'playwright-core';
import { seedDemo, DEMO_PASSWORD } from '../src/modules/demo/demo.seed.ts';
import { onEachDatabase } from './harness.ts';

const users = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 5);
process.env.BENCH_DATABASES ??= 'embedded';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Milliseconds from the navigation to the Users screen showing its first page, the total and a usable search box. */
async function openUsers(page: Page, url: string): Promise<number> {
  const started = performance.now();
  await page.goto(`${url}/console/`);
  await page.locator('tbody .user-name').first().waitFor({ timeout: 30_000 });
  await page.getByText(/^[\d,]+ users$/).waitFor({ timeout: 30_000 });
  await page.getByLabel('Search users').fill('');
  return performance.now() - started;
}

await onEachDatabase('console', async (label, server) => {
  const seeded = performance.now();
  await seedDemo(server.db.prisma, { users, realm: 'default' });
  const total = await server.db.prisma.user.count({ where: { realm: { name: 'default' }, deletedAt: null } });
  const admin = await server.db.prisma.user.findFirstOrThrow({
    where: {
      realm: { name: 'default' },
      status: 'ACTIVE',
      passwordHash: { not: null },
      roles: { some: { role: { name: 'Support' }, tenantId: null } },
    },
  });
  console.log(`${label}: ${total} users seeded in ${((performance.now() - seeded) / 1000).toFixed(0)} s`);

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const assets: { url: string; bytes: number }[] = [];
    page.on('requestfinished', (request) => {
      if (!/\.(js|css)$/.test(new URL(request.url()).pathname)) return;
      void request.sizes().then((sizes) => assets.push({ url: request.url(), bytes: sizes.responseBodySize }));
    });
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Realm', { exact: true }).press('Enter');
    await page.getByLabel('Email, username or phone number').fill(admin.email!);
    await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor({ timeout: 30_000 });
    const firstLoad = assets.reduce((sum, asset) => sum + asset.bytes, 0);

    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await openUsers(page, server.url));
    const rows = await page.locator('tbody tr').count();
    console.log(
      `${label}: Users screen of ${rows} rows out of ${total}: ${median(times).toFixed(0)} ms median ` +
        `(${times.map((t) => t.toFixed(0)).join(', ')} ms) from navigation to rows, total and search; ` +
        `first load ${(firstLoad / 1024).toFixed(0)} KiB of JavaScript and CSS on the wire (as sent, compressed or not)`,
    );
  } finally {
    await browser.close();
  }
});

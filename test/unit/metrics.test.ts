/** Who may read `/metrics` without a token: loopback callers only, by the socket's address. */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.ts';

const metrics = new Metrics();
const scrape = (address: string | undefined) =>
  metrics.respond(new Request('http://roster.test/metrics'), address, undefined);

describe('Metrics.respond without a token', () => {
  it('serves loopback callers', async () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect((await scrape(address)).status).toBe(200);
  });

  it('refuses any other address, and an unknown one', async () => {
    for (const address of ['10.0.0.5', '192.168.1.20', '::ffff:10.0.0.5', 'fe80::1', undefined]) {
      const response = await scrape(address);
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('ROSTER_METRICS_TOKEN');
    }
  });
});

/**
 * Idle HTTP connections: the server keeps them 65 s, longer than load balancers keep theirs, and
 * says so in `Keep-Alive`, so a client reusing one after a pause is not reset.
 */
import { Agent, get } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await server?.close();
});

function healthz(): Promise<{ status: number; keepAlive: string | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = get(`${server.url}/healthz`, { agent }, (response) => {
      response.resume();
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          keepAlive: response.headers['keep-alive']?.toString(),
          reused: request.reusedSocket,
        }),
      );
    });
    request.on('error', reject);
  });
}

it('keeps an idle connection open past the 5 s Node.js default and advertises 65 s', async () => {
  const first = await healthz();
  expect(first).toEqual({ status: 200, keepAlive: 'timeout=65', reused: false });
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  expect(await healthz()).toEqual({ status: 200, keepAlive: 'timeout=65', reused: true });
}, 60_000);

import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const get = (headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${server.url}/schema.graphql`, { method, headers });

describe('GET /schema.graphql', () => {
  it('gives an authenticated caller the printed schema, as committed in schema.graphql (any scope)', async () => {
    const token = await server.token(server.admin, 'audit:read');
    const response = await get({ authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(await response.text()).toBe(await readFile('schema.graphql', 'utf8'));
  });

  it('answers an anonymous caller 401 with a Bearer challenge, as the API does', async () => {
    const response = await get();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toEqual({
      errors: [
        {
          message: 'The schema is for authenticated callers: send "Authorization: Bearer <access token>".',
          extensions: { code: 'UNAUTHENTICATED' },
        },
      ],
    });
  });

  it('answers an invalid or malformed token 401 invalid_token, without the schema', async () => {
    for (const authorization of ['Bearer not.a.token', 'Basic YTpi', 'Bearer']) {
      const response = await get({ authorization });
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get('www-authenticate'), authorization).toMatch(/^Bearer error="invalid_token"/);
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('takes GET only', async () => {
    const token = await server.token();
    const response = await get({ authorization: `Bearer ${token}` }, 'POST');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
  });
});

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '../../src/graphql/request-body.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token();
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const CREATE = JSON.stringify({
  query: 'mutation ($email: EmailAddress!) { createUser(input: { email: $email }) { user { email } } }',
  variables: { email: 'padded@example.com' },
});

/**
 * POSTs to /graphql: with `length`, that Content-Length (and only `body` sent); without, the body
 * chunked (no Content-Length), `body` then `padding` bytes of JSON whitespace, 1 MB a chunk.
 */
function post(body: string, options: { length?: number; padding?: number } = {}) {
  return new Promise<{ status: number; json: { data?: unknown; errors?: { extensions?: { code?: string } }[] } }>(
    (resolve, reject) => {
      const req = request(`${server.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          ...(options.length !== undefined ? { 'content-length': String(options.length) } : {}),
        },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) });
          req.destroy();
        });
      });
      // The server may answer and close before the whole body is sent.
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
      });
      req.write(body);
      if (options.length !== undefined) return;
      const spaces = Buffer.alloc(2 ** 20, ' ');
      let left = options.padding ?? 0;
      const more = () => {
        while (left > 0) {
          const chunk = spaces.subarray(0, Math.min(left, spaces.length));
          left -= chunk.length;
          if (!req.write(chunk)) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    },
  );
}

async function userExists(email: string) {
  const { data, errors } = await server.graphql<{ userByEmail: { id: string } | null }>(
    'query ($email: EmailAddress!) { userByEmail(email: $email) { id } }',
    { email },
  );
  expect(errors).toBeUndefined();
  return data!.userByEmail != null;
}

describe('the request body limit of /graphql', () => {
  it('refuses a Content-Length over the limit with 413 before reading the body, and runs nothing', async () => {
    const result = await post(CREATE, { length: MAX_REQUEST_BODY_BYTES + 1 });
    expect(result.status).toBe(413);
    expect(result.json.errors?.map((error) => error.extensions?.code)).toEqual(['REQUEST_ENTITY_TOO_LARGE']);
    expect(await userExists('padded@example.com')).toBe(false);
  });

  it('counts a body sent without Content-Length, refusing it with 413 once it passes the limit, and runs nothing', async () => {
    const result = await post(CREATE, { padding: MAX_REQUEST_BODY_BYTES });
    expect(result.status).toBe(413);
    expect(result.json.errors?.map((error) => error.extensions?.code)).toEqual(['REQUEST_ENTITY_TOO_LARGE']);
    expect(await userExists('padded@example.com')).toBe(false);
  });

  it('answers a body sent without Content-Length within the limit', async () => {
    const result = await post(CREATE, { padding: 3 * 2 ** 20 });
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ data: { createUser: { user: { email: 'padded@example.com' } } } });
    expect(await userExists('padded@example.com')).toBe(true);
  });
});

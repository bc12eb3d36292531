import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/crypto.ts';
import { createLogger } from '../../src/logger.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const lines: string[] = [];
let server: TestServer;

const CREATE = graphql(`
  mutation ApplicationsSecretsCreate {
    createApplication(input: { name: "Canary", type: M2M }) {
      application {
        id
      }
      clientSecret
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ROTATE = graphql(`
  mutation ApplicationsSecretsRotate($id: ID!) {
    rotateApplicationSecret(input: { id: $id, previousSecretValidForSeconds: 60 }) {
      clientSecret
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  server = await startTestServer({ log: createLogger('trace', sink) });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

it('client secrets (canaries) never reach an audit row or a log line, nor do their hashes', async () => {
  const secrets: string[] = [];
  const create = await server.graphql(CREATE);
  expect(create.data?.createApplication.userErrors).toEqual([]);
  const id = create.data!.createApplication.application!.id;
  secrets.push(create.data!.createApplication.clientSecret!);
  const rotate = await server.graphql(ROTATE, { id });
  expect(rotate.data?.rotateApplicationSecret.userErrors).toEqual([]);
  secrets.push(rotate.data!.rotateApplicationSecret.clientSecret!);
  // Use both at the token endpoint, once right and once wrong, so they pass through every log path.
  const app = await server.db.prisma.application.findFirstOrThrow({ where: { name: 'Canary' } });
  for (const secret of secrets) {
    await server.token({ ...server.admin, clientId: app.clientId, clientSecret: secret }, '').catch(() => undefined);
    await server.token({ ...server.admin, clientId: app.clientId, clientSecret: `${secret}x` }).catch(() => undefined);
  }

  expect(secrets.every((s) => typeof s === 'string' && s.length === 43)).toBe(true);
  const audit = JSON.stringify(await server.db.prisma.auditEvent.findMany({}));
  expect(audit).toContain('application.secret_rotated');
  const log = lines.join('');
  expect(log).toContain(app.clientId);
  for (const secret of secrets) {
    for (const canary of [secret, sha256(secret)]) {
      expect(audit).not.toContain(canary);
      expect(log).not.toContain(canary);
    }
  }
});

/**
 * The SQL statements of the two grants a realm's applications send most often: a refresh (a
 * SPA's every few minutes) and a client_credentials token (a backend's). Counted so that a
 * change adding a statement to either shows up here.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { createApplication, makeUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { relyingParty, signIn } from '../helpers/sign-in.ts';

const CALLBACK = 'https://spa.example.com/callback';
const PASSWORD = 'correct horse battery staple 42';

let server: TestServer;
let spa: oidc.Configuration;

beforeAll(async () => {
  server = await startTestServer();
  const created = await createApplication(server, { name: 'SPA', type: 'SPA', redirectUris: [CALLBACK] });
  spa = await relyingParty(server.issuer(), created.clientId);
  await makeUser(server, server.admin.realmId, {
    email: 'alice@example.com',
    status: 'ACTIVE',
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/** The statements' text, numbered, for a failure message. */
const listed = (sql: string[]) => sql.map((s, i) => `${i + 1}. ${s.replace(/\s+/g, ' ').slice(0, 160)}`).join('\n');

/** On PostgreSQL the token endpoint's failure counters are in the database (one read); embedded, in memory. */
const rateLimitRead = () => (server.db.kind === 'postgres' ? 1 : 0);

it('refreshes in 4 statements (a public client: no rate-limit read), three more when the activity is noted', async () => {
  const { tokens } = await signIn(server.url, spa, CALLBACK, 'alice@example.com', PASSWORD);
  // The refresh token with its grant and the provider's session; the Roster session with its
  // user; the old token consumed; the new one and the access token stored in one statement. The realm's and the
  // application's rows were read by the sign-in and are kept until a grant of the realm changes.
  const first = await server.db.statements.during(() => oidc.refreshTokenGrant(spa, tokens.refresh_token!));
  expect(first.count, listed(first.sql)).toBe(4);
  expect(first.sql.filter((sql) => /INSERT INTO "OidcPayload"/.test(sql))).toHaveLength(1);
  expect(first.sql.filter((sql) => /lastActiveAt" =/.test(sql))).toEqual([]);

  // Once the noted activity is a minute old, the session's and the user's, in one statement; the
  // realm's and the application's rows are read again, as the session's change made here is a
  // change of the realm's grants.
  const session = await server.db.prisma.session.findFirstOrThrow({ orderBy: { id: 'desc' } });
  await server.db.prisma.session.update({
    where: { id: session.id },
    data: { lastActiveAt: new Date(session.lastActiveAt.getTime() - 61_000) },
  });
  const second = await server.db.statements.during(() => oidc.refreshTokenGrant(spa, first.result.refresh_token!));
  expect(second.result.refresh_token).not.toBe(first.result.refresh_token);
  expect(second.count, listed(second.sql)).toBe(7);
  expect(second.sql.filter((sql) => /lastActiveAt" =/.test(sql))).toHaveLength(1);
});

it('issues a client_credentials token in 1 statement (2 with the rate-limit read on PostgreSQL)', async () => {
  // The realm's row and the scopes the application's roles grant are kept from the earlier
  // requests (the realm's id is learnt by the first, its row kept from the second) until a grant
  // of the realm changes: then they are read again.
  await server.token();
  await server.token();
  // The application with its secrets.
  const { count, sql } = await server.db.statements.during(() => server.token());
  expect(count, listed(sql)).toBe(1 + rateLimitRead());

  await server.db.prisma.role.updateMany({
    where: { realmId: server.admin.realmId },
    data: { description: 'changed' },
  });
  const changed = await server.db.statements.during(() => server.token());
  expect(changed.count, listed(changed.sql)).toBe(3 + rateLimitRead());
});

/**
 * Sign-in benchmark: `npm run bench:sign-in`. On the embedded database and, with `DATABASE_URL`
 * (a PostgreSQL server; a throwaway database is created on it), on PostgreSQL, a load process
 * as a SPA's users would:
 *
 * - refresh grants/s: each connection signs a user of its own in once (before the window), then
 *   refreshes with the rotated refresh token again and again (each refresh checks the session;
 *   the activity is noted at most once a minute per session, so hardly ever in the window);
 * - sign-ins/s through the hosted pages: authorization request, sign-in page, the form's POST
 *   (one argon2id verification), the redirect back and the code exchange, in a new browser each.
 *
 * Figures: operations/s, latency percentiles, and the server process's CPU time per operation
 * (the embedded database's thread included, a PostgreSQL server's not). The machine is shared:
 * the figures are indicative. Memory with many realms' providers cached: `npm run bench:tokens`.
 *
 * Options (after `--`): `--seconds N` (default 10), `--concurrency N` (default 8), `--modes`
 * (default `refresh,sign-in`).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as oidc from 'openid-client';
import { systemContext } from '../src/context.ts';
import { createApplication } from '../src/modules/applications/applications.service.ts';
import { hashPassword } from '../src/modules/users/users.passwords.ts';
import type { RosterServer } from '../src/server.ts';
import { realmIssuer } from '../src/auth/tokens.ts';
import { relyingParty, signIn } from '../test/helpers/sign-in.ts';
import { describeLoad, measure, onEachDatabase, runLoad, type LoadResult } from './harness.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    modes: { type: 'string', default: 'refresh,sign-in' },
    load: { type: 'string' },
  },
});

const CALLBACK = 'https://spa.example.com/callback';
const PASSWORD = 'bench password correct horse 42';

interface Load {
  mode: 'refresh' | 'sign-in';
  url: string;
  issuer: string;
  clientId: string;
}

const emailOf = (loop: number) => `bench-${loop}@example.com`;

async function load({ mode, url, issuer, clientId }: Load): Promise<void> {
  const config = await relyingParty(issuer, clientId);
  const concurrency = Number(values.concurrency);
  const seconds = Number(values.seconds);
  const succeeded = async (call: Promise<unknown>) => {
    try {
      await call;
      return true;
    } catch {
      return false;
    }
  };
  if (mode === 'refresh') {
    await measure(
      concurrency,
      seconds,
      async (loop) => ({ token: (await signIn(url, config, CALLBACK, emailOf(loop), PASSWORD)).tokens.refresh_token! }),
      (state) =>
        succeeded(
          oidc.refreshTokenGrant(config, state.token).then((tokens) => {
            state.token = tokens.refresh_token!;
          }),
        ),
    );
  } else {
    await measure(
      concurrency,
      seconds,
      async (loop) => loop,
      (loop) => succeeded(signIn(url, config, CALLBACK, emailOf(loop), PASSWORD)),
    );
  }
}

async function bench(label: string, server: RosterServer) {
  const realmId = server.bootstrap!.realmId;
  const ctx = systemContext(server.db.prisma, realmId);
  const created = await createApplication(ctx, { name: 'Bench SPA', type: 'SPA', redirectUris: [CALLBACK] });
  const clientId = created.application!.clientId;
  const passwordHash = await hashPassword(PASSWORD);
  const concurrency = Number(values.concurrency);
  await server.db.prisma.user.createMany({
    data: Array.from({ length: concurrency }, (_, loop) => ({
      realmId,
      email: emailOf(loop),
      emailVerified: true,
      passwordHash,
      passwordAlgorithm: 'ARGON2ID' as const,
    })),
  });
  const issuer = realmIssuer(server.url, server.bootstrap!.realmName);
  const args = ['--seconds', values.seconds, '--concurrency', values.concurrency];
  const script = fileURLToPath(import.meta.url);
  for (const [mode, unit] of [
    ['refresh', ['refresh grant', 'refresh grants']],
    ['sign-in', ['sign-in', 'sign-ins']],
  ] as const) {
    if (!values.modes.split(',').includes(mode)) continue;
    const result = await runLoad<LoadResult>(script, { mode, url: server.url, issuer, clientId } satisfies Load, args);
    console.log(describeLoad(`${label}, ${mode}`, [...unit], concurrency, result));
  }
}

if (values.load) {
  await load(JSON.parse(values.load) as Load);
} else {
  console.log(
    `node ${process.version}, ${values.concurrency} connections, ${values.seconds} s per measure (shared machine: indicative figures)`,
  );
  await onEachDatabase('sign_in', bench);
}

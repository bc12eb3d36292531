import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';

/**
 * A caller can always tell whether its mutation took effect: a mutation that selects anything
 * its token may not read is refused before it runs, with FORBIDDEN at its root field.
 */
let server: TestServer;
let writeOnly: string;

const CREATE_WITH_USER = graphql(`
  mutation GraphqlMutationScopesCreateWithUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
        email
      }
      userErrors {
        code
      }
    }
  }
`);
const CREATE_ERRORS_ONLY = graphql(`
  mutation GraphqlMutationScopesCreateErrorsOnly($input: CreateUserInput!) {
    createUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
graphql(`
  fragment GraphqlMutationScopesWho on User {
    id
  }
`);
graphql(`
  fragment GraphqlMutationScopesCreated on CreateUserPayload {
    userErrors {
      code
    }
    ... on CreateUserPayload {
      user {
        ...GraphqlMutationScopesWho
      }
    }
  }
`);
const CREATE_THROUGH_FRAGMENTS = graphql(`
  mutation GraphqlMutationScopesCreateThroughFragments($input: CreateUserInput!) {
    createUser(input: $input) {
      ...GraphqlMutationScopesCreated
    }
  }
`);
const CREATE_USER_SKIPPED = graphql(`
  mutation GraphqlMutationScopesCreateUserSkipped($input: CreateUserInput!, $withUser: Boolean!) {
    createUser(input: $input) {
      user @include(if: $withUser) {
        id
      }
      userErrors {
        code
      }
    }
  }
`);
const CREATE_TWO = graphql(`
  mutation GraphqlMutationScopesCreateTwo($a: CreateUserInput!, $b: CreateUserInput!) {
    first: createUser(input: $a) {
      userErrors {
        code
      }
    }
    second: createUser(input: $b) {
      user {
        email
      }
      userErrors {
        code
      }
    }
  }
`);
const CREATE_WITH_TENANTS = graphql(`
  mutation GraphqlMutationScopesCreateWithTenants($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
        tenants {
          nodes {
            name
          }
        }
      }
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  writeOnly = await server.token(server.admin, 'users:write');
}, 120_000);

afterAll(() => server?.close());

async function counts() {
  const p = server.db.prisma;
  return { users: await p.user.count(), audit: await p.auditEvent.count({ where: { outcome: { not: 'denied' } } }) };
}

async function expectNotRun<R>(run: () => Promise<GraphQLResult<R>>) {
  const before = await counts();
  const result = await run();
  expect(await counts()).toEqual(before);
  return result;
}

describe('mutations selecting what the token may not read', () => {
  it('are refused before they run: FORBIDDEN at the root field, naming the scope and the field, nothing changed', async () => {
    const result = await expectNotRun(() =>
      server.graphql(CREATE_WITH_USER, { input: { email: 'blind@example.com' } }, writeOnly),
    );
    expect(result.status).toBe(200);
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]).toMatchObject({
      path: ['createUser'],
      extensions: { code: 'FORBIDDEN', missingScopes: ['users:read'], fields: ['createUser.user'] },
    });
    expect(result.errors![0]!.message).toMatch(/did not run/);
  });

  it('are refused through named and inline fragments too', async () => {
    const result = await expectNotRun(() =>
      server.graphql(CREATE_THROUGH_FRAGMENTS, { input: { email: 'fragments@example.com' } }, writeOnly),
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['users:read'] });
  });

  it('run when the unreadable part is skipped, and when only the errors are selected', async () => {
    const skipped = await server.graphql(
      CREATE_USER_SKIPPED,
      { input: { email: 'skipped@example.com' }, withUser: false },
      writeOnly,
    );
    expect(skipped.errors).toBeUndefined();
    expect(skipped.data).toEqual({ createUser: { userErrors: [] } });

    const errorsOnly = await server.graphql(
      CREATE_ERRORS_ONLY,
      { input: { email: 'errors-only@example.com' } },
      writeOnly,
    );
    expect(errorsOnly.errors).toBeUndefined();
    expect(errorsOnly.data).toEqual({ createUser: { userErrors: [] } });
    expect(
      await server.db.prisma.user.count({
        where: { email: { in: ['skipped@example.com', 'errors-only@example.com'] } },
      }),
    ).toBe(2);
  });

  it('stop every root field of the operation, not only the unreadable one', async () => {
    const result = await expectNotRun(() =>
      server.graphql(CREATE_TWO, { a: { email: 'first@example.com' }, b: { email: 'second@example.com' } }, writeOnly),
    );
    expect(result.errors?.map((error) => error.path)).toEqual([['second']]);
  });

  it('count the scopes of nested types (a tenant needs tenants:read)', async () => {
    const token = await server.token(server.admin, 'users:write users:read');
    const result = await expectNotRun(() =>
      server.graphql(CREATE_WITH_TENANTS, { input: { email: 'nested@example.com' } }, token),
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['tenants:read'] });
    expect(result.errors?.[0]?.extensions?.fields).toEqual(['createUser.user.tenants.nodes']);
  });

  it('with every scope they select, run and answer in full', async () => {
    const token = await server.token(server.admin, 'users:write users:read');
    const result = await server.graphql(CREATE_WITH_USER, { input: { email: 'seen@example.com' } }, token);
    expect(result.errors).toBeUndefined();
    expect(result.data?.createUser.user!.email).toBe('seen@example.com');
  });
});

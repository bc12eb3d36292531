import { randomUUID } from 'node:crypto';
import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import fc from 'fast-check';
import { graphql, isInputObjectType, type GraphQLInputObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { decodeGlobalId, encodeGlobalId } from '../../src/graphql/ids.ts';
import { decodeInputValue, InputBoundsError } from '../../src/graphql/input-bounds.ts';
import { schema } from '../../src/graphql/schema.ts';
import { userFilterOf } from '../../src/modules/users/users.inputs.schema.ts';

const inputType = (from: GraphQLSchema, name: string): GraphQLInputObjectType => {
  const type = from.getType(name);
  if (!isInputObjectType(type)) throw new Error(`${name} is not an input type`);
  return type;
};

const USER_FILTER = inputType(schema, 'UserFilter');
const gid = (typename: string, id: string = randomUUID()) => encodeGlobalId(typename, id);
const ARTICLE: Record<string, string> = { User: 'a', Role: 'a', Tenant: 'a', Session: 'a', Application: 'an' };

/** The refusal `decodeInputValue` throws: its path and message. */
function refusal(run: () => unknown): { path: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof InputBoundsError) return { path: error.path, message: error.message };
    throw error;
  }
  throw new Error('not refused');
}

/**
 * A schema built like Roster's (Relay plugin, Roster's global id codec) with a field taking ids
 * of two types, `for: [Alpha, Beta]`; its resolver records the argument as Pothos decodes it.
 */
function twoTypeSchema() {
  const seen: unknown[] = [];
  const options = {
    plugins: [RelayPlugin],
    defaultFieldNullability: false,
    relay: {
      clientMutationId: 'omit',
      cursorType: 'String',
      encodeGlobalID: (typename: string, id: string | number | bigint) => encodeGlobalId(typename, String(id)),
      decodeGlobalID: (globalId: string) => decodeGlobalId(globalId),
    },
  } as const;
  // Roster's builder declares the Prisma and scope-auth options globally; this one needs neither.
  const builder = new SchemaBuilder<{ DefaultFieldNullability: false }>(options as never);
  const node = (name: string) =>
    builder.node(builder.objectRef<{ id: string }>(name), { id: { resolve: (o) => o.id }, fields: () => ({}) });
  const Alpha = node('Alpha');
  const Beta = node('Beta');
  node('Gamma');
  interface PickShape {
    one?: { typename: string; id: string } | null;
    many?: { typename: string; id: string }[] | null;
    nested?: PickShape[] | null;
  }
  const Pick = builder.inputRef<PickShape>('Pick').implement({
    fields: (t) => ({
      one: t.globalID({ for: [Alpha, Beta] }),
      many: t.globalIDList({ for: [Alpha, Beta] }),
      nested: t.field({ type: [Pick] }),
    }),
  });
  builder.queryType({
    fields: (t) => ({
      pick: t.boolean({
        args: { input: t.arg({ type: Pick, required: true }) },
        resolve: (_root, args) => {
          seen.push(args.input);
          return true;
        },
      }),
    }),
  });
  const built = builder.toSchema();
  return { schema: built, pick: inputType(built, 'Pick'), seen };
}

describe('decodeInputValue (a GraphQL input given as JSON, e.g. over REST)', () => {
  it('decodes a UserFilter as resolvers get it; userFilterOf hands services database ids', () => {
    const [user, role, tenant, app] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const json = {
      search: 'ada',
      ids: [gid('User', user.toUpperCase())],
      AND: [{ roleIds: [gid('Role', role)], OR: [{ tenantIds: [gid('Tenant', tenant)] }] }],
      NOT: { applicationIds: [gid('Application', app)], countries: ['GB'] },
    };
    const decoded = decodeInputValue(json, USER_FILTER, 'filter');
    expect(decoded).toEqual({
      search: 'ada',
      ids: [{ typename: 'User', id: user }],
      AND: [
        {
          roleIds: [{ typename: 'Role', id: role }],
          OR: [{ tenantIds: [{ typename: 'Tenant', id: tenant }], includeDeleted: false }],
          includeDeleted: false,
        },
      ],
      NOT: { applicationIds: [{ typename: 'Application', id: app }], countries: ['GB'], includeDeleted: false },
      includeDeleted: false,
    });
    expect(userFilterOf(decoded as Parameters<typeof userFilterOf>[0])).toMatchObject({
      ids: [user],
      AND: [{ roleIds: [role], OR: [{ tenantIds: [tenant] }] }],
      NOT: { applicationIds: [app] },
    });
  });

  it('refuses an id of another type, or a malformed one, anywhere in a nested filter, naming its path', () => {
    const idFields = { ids: 'User', roleIds: 'Role', tenantIds: 'Tenant', applicationIds: 'Application' } as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(idFields) as (keyof typeof idFields)[])),
        fc.nat(4),
        fc.nat(3),
        fc.constantFrom('AND', 'OR'),
        fc.oneof(fc.constantFrom('User', 'Role', 'Tenant', 'Application', 'Session'), fc.constant(null)),
        (field, good, branch, nesting, wrongType) => {
          const typename = idFields[field];
          fc.pre(wrongType !== typename);
          const bad = wrongType ? gid(wrongType) : 'not-an-id';
          const list = [...Array.from({ length: good }, () => gid(typename)), bad];
          const filter = { [nesting]: [...Array.from({ length: branch }, () => ({})), { NOT: { [field]: list } }] };
          const path = `filter.${nesting}.${branch}.NOT.${field}.${good}`;
          const expected = wrongType
            ? `${path} must be the ID of ${ARTICLE[typename]} ${typename}, got the ID of ${ARTICLE[wrongType]} ${wrongType}.`
            : `${path} is not a valid ID.`;
          expect(refusal(() => decodeInputValue(filter, USER_FILTER, 'filter'))).toEqual({ path, message: expected });
        },
      ),
    );
  });

  it('refuses what does not coerce, and what breaks a bound, naming the path', () => {
    expect(refusal(() => decodeInputValue({ AND: [{}, { ageMin: 'old' }] }, USER_FILTER, 'filter')).path).toBe(
      'filter.AND.1.ageMin',
    );
    expect(refusal(() => decodeInputValue({ nope: true }, USER_FILTER, 'filter')).message).toMatch(/nope/);
    expect(refusal(() => decodeInputValue({ roleIds: Array(101).fill(gid('Role')) }, USER_FILTER, 'filter'))).toEqual({
      path: 'filter.roleIds',
      message: 'filter.roleIds: at most 100 values (got 101)',
    });
    let deep: Record<string, unknown> = { search: 'x' };
    for (let i = 0; i < 6; i++) deep = { NOT: deep };
    expect(refusal(() => decodeInputValue(deep, USER_FILTER, 'filter')).message).toMatch(/nest at most 5/);
    expect(refusal(() => decodeInputValue({ search: 'a\u0000b' }, USER_FILTER, 'filter')).path).toBe('filter.search');
    let raw: unknown = {};
    for (let i = 0; i < 100; i++) raw = { NOT: raw };
    expect(refusal(() => decodeInputValue(raw, USER_FILTER, 'filter')).message).toMatch(/deeper than 64/);
  });

  it('takes ids of every type a `for: [A, B]` field names, exactly as Pothos decodes them for a resolver', async () => {
    const { schema: built, pick, seen } = twoTypeSchema();
    const [a, b] = [randomUUID(), randomUUID()];
    const json = { one: gid('Beta', b), many: [gid('Alpha', a), gid('Beta', b)], nested: [{ one: gid('Alpha', a) }] };
    const result = await graphql({
      schema: built,
      source: 'query($input: Pick!) { pick(input: $input) }',
      variableValues: { input: json },
    });
    expect(result.errors).toBeUndefined();
    const decoded = decodeInputValue(json, pick, 'input');
    expect(decoded).toEqual({
      one: { typename: 'Beta', id: b },
      many: [
        { typename: 'Alpha', id: a },
        { typename: 'Beta', id: b },
      ],
      nested: [{ one: { typename: 'Alpha', id: a } }],
    });
    expect(seen).toEqual([decoded]);
    expect(refusal(() => decodeInputValue({ many: [gid('Alpha'), gid('Gamma')] }, pick, 'input'))).toEqual({
      path: 'input.many.1',
      message: 'input.many.1 must be the ID of an Alpha or a Beta, got the ID of a Gamma.',
    });
  });
});

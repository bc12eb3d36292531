import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkUserFilterBounds,
  compileUserFilter,
  FILTER_LIMITS,
  FilterError,
  type FilterEnvironment,
  type UserFilter,
} from '../../src/modules/users/users.filter.ts';

const env: FilterEnvironment = {
  requiredProfileFields: ['NAME'],
  attributeTypes: new Map([
    ['plan', 'STRING'],
    ['seats', 'NUMBER'],
  ]),
};

const days = fc.integer({ min: 0, max: FILTER_LIMITS.maxDays });
const age = fc.integer({ min: 0, max: FILTER_LIMITS.maxAge });
const uuid = fc.uuid({ version: 7 });
const shortList = <T>(item: fc.Arbitrary<T>) => fc.array(item, { maxLength: 5 });

/** One filter node within every bound: its fields are independent and consistent. */
const leaf: fc.Arbitrary<UserFilter> = fc.record(
  {
    search: fc.string({ maxLength: FILTER_LIMITS.maxSearchLength }),
    ids: shortList(uuid),
    roleIds: shortList(uuid),
    statuses: shortList(fc.constantFrom('INVITED', 'ACTIVE', 'INACTIVE', 'SUSPENDED', 'DELETED' as const)),
    isSuspended: fc.boolean(),
    countries: shortList(fc.constantFrom('de', 'US', 'fr')),
    ageMin: age,
    createdInLastDays: days,
    failedLoginAttemptsMin: fc.nat(50),
    customAttributes: shortList(
      fc.oneof(
        fc.record({ key: fc.constant('plan'), contains: fc.string({ maxLength: 20 }) }),
        fc.record({ key: fc.constant('seats'), gte: fc.integer(), exists: fc.boolean() }),
      ),
    ).map((list) => list.slice(0, 1)),
  },
  { requiredKeys: [] },
);

/** A tree of at most 2 levels below the root and a handful of conditions. */
const tree: fc.Arbitrary<UserFilter> = fc.letrec<{ node: UserFilter }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ AND: fc.array(tie('node'), { maxLength: 2 }) }),
    fc.record({ OR: fc.array(tie('node'), { maxLength: 2 }) }),
    fc.record({ NOT: tie('node') }),
  ),
})).node;

function depthOf(filter: UserFilter): number {
  const inner = [...(filter.AND ?? []), ...(filter.OR ?? []), ...(filter.NOT ? [filter.NOT] : [])];
  return inner.length ? 1 + Math.max(...inner.map(depthOf)) : 0;
}

function searchesOf(filter: UserFilter): number {
  const own =
    (filter.search?.trim() ? 1 : 0) + (filter.customAttributes ?? []).filter((c) => c.contains != null).length;
  const inner = [...(filter.AND ?? []), ...(filter.OR ?? []), ...(filter.NOT ? [filter.NOT] : [])];
  return own + inner.reduce((sum, f) => sum + searchesOf(f), 0);
}

const nest = (filter: UserFilter, levels: number): UserFilter =>
  levels === 0 ? filter : { NOT: nest(filter, levels - 1) };

describe('the users filter compiler', () => {
  it('compiles every filter within the bounds, counting at least one condition per nested filter', () => {
    fc.assert(
      fc.property(
        tree.filter((f) => depthOf(f) <= FILTER_LIMITS.maxDepth && searchesOf(f) <= FILTER_LIMITS.maxSearches),
        (filter) => {
          const conditions = checkUserFilterBounds(filter);
          expect(conditions).toBeLessThanOrEqual(FILTER_LIMITS.maxConditions);
          expect(compileUserFilter(filter, env).sql.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('refuses nesting deeper than the limit at the path of the too-deep filter', () => {
    fc.assert(
      fc.property(
        leaf,
        fc.integer({ min: FILTER_LIMITS.maxDepth + 1, max: FILTER_LIMITS.maxDepth + 4 }),
        (inner, levels) => {
          const filter = nest(inner, levels);
          let error: unknown;
          try {
            compileUserFilter(filter, env);
          } catch (caught) {
            error = caught;
          }
          expect(error).toBeInstanceOf(FilterError);
          expect((error as FilterError).message).toMatch(/^filter(\.NOT)+/);
          expect((error as FilterError).message).toContain(`filter${'.NOT'.repeat(FILTER_LIMITS.maxDepth + 1)}`);
        },
      ),
    );
  });

  it('refuses any out-of-range number with a FilterError naming its path', () => {
    const outOfRange = fc.oneof(
      fc.record({
        key: fc.constant('createdInLastDays' as const),
        value: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: FILTER_LIMITS.maxDays + 1 })),
      }),
      fc.record({
        key: fc.constant('activeInLastDays' as const),
        value: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: FILTER_LIMITS.maxDays + 1 })),
      }),
      fc.record({
        key: fc.constant('ageMin' as const),
        value: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: FILTER_LIMITS.maxAge + 1 })),
      }),
      fc.record({
        key: fc.constant('ageMax' as const),
        value: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: FILTER_LIMITS.maxAge + 1 })),
      }),
      fc.record({ key: fc.constant('failedLoginAttemptsMax' as const), value: fc.integer({ max: -1 }) }),
    );
    fc.assert(
      fc.property(outOfRange, fc.integer({ min: 0, max: 3 }), ({ key, value }, levels) => {
        const path = `filter${'.NOT'.repeat(levels)}.${key}`;
        expect(() => compileUserFilter(nest({ [key]: value }, levels), env)).toThrow(FilterError);
        expect(() => compileUserFilter(nest({ [key]: value }, levels), env)).toThrow(path);
      }),
    );
  });

  it('refuses contradictory ranges at the lower bound', () => {
    fc.assert(
      fc.property(age, age, (a, b) => {
        fc.pre(a !== b);
        const [min, max] = a > b ? [a, b] : [b, a];
        expect(() => compileUserFilter({ ageMin: min, ageMax: max }, env)).toThrow('filter.ageMin');
        expect(() => compileUserFilter({ ageMin: max, ageMax: min }, env)).not.toThrow();
      }),
    );
  });

  it('refuses lists longer than the limit, and more values or searches in all than the limits', () => {
    fc.assert(
      fc.property(fc.integer({ min: FILTER_LIMITS.maxListLength + 1, max: 300 }), (n) => {
        const countries = Array.from({ length: n }, () => 'DE');
        expect(() => compileUserFilter({ countries }, env)).toThrow('filter.countries');
      }),
    );
    const spread = Array.from({ length: 6 }, () => ({ countries: Array.from({ length: 100 }, () => 'DE') }));
    expect(() => checkUserFilterBounds({ OR: spread })).toThrow(/filter\.OR\.\d\.countries: .*500 values/);
    const searches = Array.from({ length: FILTER_LIMITS.maxSearches + 1 }, (_, i) => ({ search: `term${i}` }));
    expect(() => checkUserFilterBounds({ OR: searches })).toThrow(/filter\.OR\.\d\.search: .*5 text searches/);
  });

  it('refuses unknown custom attributes at their index', () => {
    expect(() => compileUserFilter({ customAttributes: [{ key: 'nope', exists: true }] }, env)).toThrow(
      'filter.customAttributes.0.key',
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UserStatus } from '../../src/generated/prisma/client.ts';
import { CREATABLE_STATUSES } from '../../src/modules/users/users.create.ts';
import { STATUS_TRANSITIONS } from '../../src/modules/users/users.lifecycle.ts';
import { USER_STATUSES } from '../../src/modules/users/users.analytics.ts';
import {
  checkPhone,
  checkUsername,
  mergeJson,
  USER_LIMITS,
  USERNAME,
} from '../../src/modules/users/users.validation.ts';
import type { UserErrorShape } from '../../src/modules/user-error.ts';

const status = fc.constantFrom(...USER_STATUSES);

describe('the status transition table', () => {
  it('is closed: every status has an entry and every target is a status', () => {
    expect(Object.keys(STATUS_TRANSITIONS).sort()).toEqual([...USER_STATUSES].sort());
    fc.assert(fc.property(status, (from) => STATUS_TRANSITIONS[from].every((to) => USER_STATUSES.includes(to))));
  });

  it('never moves a user to INVITED or DELETED, nor to its own status, and DELETED is final', () => {
    fc.assert(
      fc.property(status, (from) => {
        expect(STATUS_TRANSITIONS[from]).not.toContain('INVITED');
        expect(STATUS_TRANSITIONS[from]).not.toContain('DELETED');
        expect(STATUS_TRANSITIONS[from]).not.toContain(from);
      }),
    );
    expect(STATUS_TRANSITIONS.DELETED).toEqual([]);
  });

  it('lets every live user reach ACTIVE and SUSPENDED, and every status reached leads back to ACTIVE', () => {
    const reachable = (from: UserStatus) => {
      const seen = new Set<UserStatus>();
      const queue = [from];
      for (let next = queue.shift(); next; next = queue.shift()) {
        for (const to of STATUS_TRANSITIONS[next]) {
          if (!seen.has(to)) {
            seen.add(to);
            queue.push(to);
          }
        }
      }
      return seen;
    };
    fc.assert(
      fc.property(
        status.filter((s) => s !== 'DELETED'),
        (from) => {
          const seen = reachable(from);
          expect(seen.has('SUSPENDED') || from === 'SUSPENDED').toBe(true);
          for (const s of seen) expect(s === 'ACTIVE' || reachable(s).has('ACTIVE')).toBe(true);
        },
      ),
    );
    expect(CREATABLE_STATUSES).not.toContain('DELETED');
    expect(CREATABLE_STATUSES).not.toContain('SUSPENDED');
  });
});

describe('user field validation', () => {
  const check = (fn: (value: string, field: string[], errors: UserErrorShape[]) => string, value: string) => {
    const errors: UserErrorShape[] = [];
    const normal = fn(value, ['input', 'x'], errors);
    return { normal, codes: errors.map((e) => e.code), fields: errors.map((e) => e.field) };
  };

  it('accepts every username of 3 to 64 allowed characters and refuses any other at its field', () => {
    const allowed = fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789._-'),
      minLength: USER_LIMITS.usernameMin,
      maxLength: USER_LIMITS.usernameMax,
    });
    fc.assert(
      fc.property(allowed, (name) => {
        expect(check(checkUsername, name).codes).toEqual([]);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (name) => {
        const ok =
          USERNAME.test(name) &&
          [...name].length >= USER_LIMITS.usernameMin &&
          [...name].length <= USER_LIMITS.usernameMax;
        const result = check(checkUsername, name);
        expect(result.codes.length === 0).toBe(ok);
        for (const field of result.fields) expect(field).toEqual(['input', 'x']);
      }),
    );
  });

  it('normalizes phone numbers written with separators to the same E.164 number', () => {
    const e164 = fc
      .tuple(
        fc.integer({ min: 1, max: 9 }),
        fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 6, maxLength: 14 }),
      )
      .map(([first, rest]) => `+${first}${rest}`);
    fc.assert(
      fc.property(
        e164,
        fc.array(fc.constantFrom(' ', '-', '.', '(', ')'), { maxLength: 4 }),
        fc.nat(),
        (number, separators, at) => {
          const split = 2 + (at % (number.length - 2));
          const written = `${number.slice(0, split)}${separators.join('')}${number.slice(split)}`;
          expect(check(checkPhone, written)).toEqual({ normal: number, codes: [], fields: [] });
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abc#*'), minLength: 1 }), (junk) => {
        expect(check(checkPhone, `+1415${junk}`).codes).toEqual(['INVALID']);
      }),
    );
  });

  it('merges JSON key by key: null deletes, other values replace, untouched keys stay', () => {
    const json = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 5 }),
      fc.oneof(fc.integer(), fc.string(), fc.boolean()),
      { maxKeys: 5 },
    );
    const patch = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 5 }),
      fc.oneof(fc.constant(null), fc.integer(), fc.string()),
      { maxKeys: 5 },
    );
    fc.assert(
      fc.property(json, patch, (current, change) => {
        const merged = mergeJson(current, change);
        for (const [key, value] of Object.entries(change)) {
          if (value === null) expect(Object.hasOwn(merged, key)).toBe(false);
          else expect(merged[key]).toEqual(value);
        }
        for (const [key, value] of Object.entries(current))
          if (!Object.hasOwn(change, key)) expect(merged[key]).toEqual(value);
      }),
    );
  });
});

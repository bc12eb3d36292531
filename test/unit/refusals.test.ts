import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ServiceContext } from '../../src/context.ts';
import {
  inTransaction,
  isUniqueViolation,
  refused,
  USER_ERROR_CODES,
  userError,
  type MutationResult,
} from '../../src/modules/user-error.ts';

/** A service context whose `$transaction` runs the work against nothing, or fails with `error`. */
const contextFailingWith = (error?: unknown) =>
  ({
    db: {
      $transaction: async (work: (tx: unknown) => Promise<unknown>) => {
        if (error) throw error as Error;
        return work({});
      },
    },
  }) as unknown as Pick<ServiceContext, 'db'>;

describe('the refusal kit', () => {
  it('recognises unique violations from Prisma (P2002) and from the driver (SQLSTATE 23505), also as a cause', () => {
    expect(isUniqueViolation({ code: 'P2002' })).toBe(true);
    expect(isUniqueViolation({ code: '23505' })).toBe(true);
    expect(isUniqueViolation(Object.assign(new Error('wrapped'), { cause: { code: '23505' } }))).toBe(true);
    expect(isUniqueViolation({ code: 'P2025' })).toBe(false);
    expect(isUniqueViolation(new Error('other'))).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
  });

  it('inTransaction answers a lost uniqueness race with the TAKEN refusal and rethrows anything else', async () => {
    const taken = (): MutationResult<'role', string> =>
      refused('role', userError('TAKEN', 'Taken.', ['input', 'name']));
    const work = async (): Promise<MutationResult<'role', string>> => ({ role: 'created', userErrors: [] });
    expect(await inTransaction(contextFailingWith(), work, taken)).toEqual({ role: 'created', userErrors: [] });
    expect(await inTransaction(contextFailingWith({ code: 'P2002' }), work, taken)).toEqual({
      role: null,
      userErrors: [{ code: 'TAKEN', message: 'Taken.', field: ['input', 'name'] }],
    });
    await expect(inTransaction(contextFailingWith({ code: 'P2002' }), work)).rejects.toMatchObject({ code: 'P2002' });
    await expect(inTransaction(contextFailingWith(new Error('lost connection')), work, taken)).rejects.toThrow(
      'lost connection',
    );
  });

  it('the README lists every user error code, and only those', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| Code | Meaning |')).split('\n\n')[0]!;
    const listed = [...table.matchAll(/^\| `([A-Z_]+)` \| /gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual(Object.keys(USER_ERROR_CODES).sort());
  });
});

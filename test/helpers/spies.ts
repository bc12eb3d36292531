import type { GraphQLFieldResolver } from 'graphql';
import { onTestFinished, vi } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';

/**
 * Wraps every root resolver in a spy, to show that a refused request ran none of them; the
 * resolvers are restored when the current test ends.
 */
export function spyOnRootResolvers() {
  const calls = vi.fn<(field: string) => void>();
  for (const type of [schema.getQueryType()!, schema.getMutationType()!]) {
    for (const field of Object.values(type.getFields())) {
      const original = field.resolve as GraphQLFieldResolver<unknown, unknown>;
      field.resolve = (...args) => {
        calls(`${type.name}.${field.name}`);
        return original(...args);
      };
      onTestFinished(() => {
        field.resolve = original;
      });
    }
  }
  return calls;
}

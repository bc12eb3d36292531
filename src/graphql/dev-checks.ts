import type { GraphQLResolveInfo } from 'graphql';

let strict = true;

/** Outside production, unused Prisma selections (a sign of N+1) fail loudly. */
export function setStrictChecks(enabled: boolean): void {
  strict = enabled;
}

export function reportUnusedQuery(info: GraphQLResolveInfo): void {
  if (strict) {
    throw new Error(`Prisma query of ${info.parentType.name}.${info.fieldName} was not used by its resolver.`);
  }
}

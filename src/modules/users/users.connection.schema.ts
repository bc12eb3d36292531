import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { Prisma, User } from '../../generated/prisma/client.ts';
import { serviceOf, type GraphQLContext } from '../../context.ts';
import { badUserInput } from '../../graphql/errors.ts';
import { FilterError } from './users.filter.ts';
import { listUsers, type UserPageArgs } from './users.list.ts';

/** Runs `run`, turning a FilterError (bad filter, cursor or paging argument) into BAD_USER_INPUT. */
export async function mapFilterErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof FilterError) throw badUserInput(error.message, error.path);
    throw error;
  }
}

/**
 * Resolves a user connection field: one statement for the page of ids, one (plus Prisma's
 * batched relation loads) for the users with whatever the query selects below the nodes,
 * one for totalCount if selected — independent of the page size.
 */
export async function resolveUserConnection(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  args: UserPageArgs,
  scope?: Prisma.Sql,
) {
  const service = serviceOf(ctx);
  const page = await mapFilterErrors(() => listUsers(service, args, scope));
  const ids = page.edges.map((edge) => edge.id);
  const query = queryFromInfo({ context: ctx, info, paths: [['edges', 'node'], ['nodes']] });
  const users = ids.length
    ? ((await service.db.user.findMany({ ...(query as object), where: { id: { in: ids } } })) as User[])
    : [];
  const byId = new Map(users.map((user) => [user.id, user]));
  return {
    edges: page.edges.flatMap((edge) => {
      const node = byId.get(edge.id);
      return node ? [{ cursor: edge.cursor, node }] : [];
    }),
    pageInfo: page.pageInfo,
    totalCount: page.totalCount,
  };
}

import { queryFromInfo } from '@pothos/plugin-prisma';
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { Prisma, User } from '../../generated/prisma/client.ts';
import { serviceOf, type GraphQLContext } from '../../context.ts';
import { badUserInput } from '../../graphql/errors.ts';
import { FilterError } from './users.filter.ts';
import { listUsers, pageSelectionOf, type UserPageArgs } from './users.list.ts';

/** Runs `run`, turning a FilterError (bad filter, cursor or paging argument) into BAD_USER_INPUT. */
export async function mapFilterErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof FilterError) throw badUserInput(error.message, error.path);
    throw error;
  }
}

/** Whether the field being resolved selects `name` directly below it (through fragments too). */
function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  const inSet = (set: SelectionSetNode | undefined): boolean =>
    Boolean(
      set?.selections.some((selection) => {
        if (selection.kind === Kind.FIELD) return selection.name.value === name;
        if (selection.kind === Kind.INLINE_FRAGMENT) return inSet(selection.selectionSet);
        return inSet(info.fragments[selection.name.value]?.selectionSet);
      }),
    );
  return info.fieldNodes.some((node) => inSet(node.selectionSet));
}

/**
 * Resolves a user connection field in at most two statements, independent of the page size. When
 * the nodes select columns a page can read and relations that compile to SQL (`compileRelations`:
 * role names, sessions, identities, factors…), the page reads them all, with its total: one
 * statement. Otherwise the page of ids (with totalCount when selected), then the users with what
 * the query selects below the nodes, joined in one statement by the Prisma client.
 */
export async function resolveUserConnection(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  args: UserPageArgs,
  scope?: Prisma.Sql,
) {
  const service = serviceOf(ctx);
  const query = queryFromInfo({ context: ctx, info, paths: [['edges', 'node'], ['nodes']] }) as {
    select?: Record<string, unknown>;
  };
  const selection = pageSelectionOf(query);
  const page = await mapFilterErrors(() =>
    listUsers(service, args, scope, { withTotal: selectsField(info, 'totalCount'), ...(selection && { selection }) }),
  );
  const ids = page.edges.map((edge) => edge.id);
  const users = selection
    ? page.edges.map((edge) => edge.columns as unknown as User)
    : ids.length
      ? ((await service.db.user.findMany({
          ...(query as object),
          where: { id: { in: ids } },
          relationLoadStrategy: 'join',
        })) as User[])
      : [];
  const byId = new Map(users.map((user) => [user.id, user]));
  return {
    edges: page.edges.flatMap((edge) => {
      const node = byId.get(edge.id);
      // The cursor stays lazy: sealing one costs more than the rest of an edge, and lists that
      // select only nodes never read it.
      return node
        ? [
            {
              get cursor() {
                return edge.cursor;
              },
              node,
            },
          ]
        : [];
    }),
    pageInfo: page.pageInfo,
    totalCount: page.totalCount,
  };
}

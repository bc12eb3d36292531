import { printSchemaWithDirectives } from '@graphql-tools/utils';
import {
  DirectiveLocation,
  GraphQLDirective,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  isObjectType,
  lexicographicSortSchema,
  specifiedDirectives,
  type GraphQLSchema,
} from 'graphql';
import { builder } from './builder.ts';
import { sealConnectionCursors } from './cursors.ts';
import { COST } from './query-cost.ts';
import { QUERY_LIMITS } from './query-limits.ts';
import '../modules/user-error.schema.ts';
import '../modules/realm/realm.schema.ts';
import '../modules/realm/realms.schema.ts';
import '../modules/users/users.schema.ts';
import '../modules/users/users.mutations.schema.ts';
import '../modules/applications/applications.schema.ts';
import '../modules/viewer/viewer.schema.ts';
import '../modules/tenants/tenants.schema.ts';
import '../modules/resources/resources.schema.ts';
import '../modules/roles/roles.schema.ts';
import '../modules/audit/audit.schema.ts';
import '../modules/outbox/outbox.schema.ts';
import '../modules/mail/mail.schema.ts';
import '../modules/webhooks/webhooks.schema.ts';
import '../modules/users/users.attributes.schema.ts';
import '../modules/users/users.access.schema.ts';
import '../modules/users/users.security.schema.ts';
import '../modules/users/users.fields.schema.ts';
import '../modules/users/users.analytics.schema.ts';
import '../modules/users/users.bulk.schema.ts';
import '../modules/users/users.reports.schema.ts';
import '../modules/users/users.integration.schema.ts';
import '../modules/users/users.messages.schema.ts';
import '../modules/users/users.invitations.schema.ts';
import '../modules/users/users.recovery.schema.ts';

const requiresScopesDirective = new GraphQLDirective({
  name: 'requiresScopes',
  description:
    'The access-token scopes a field or type needs. Outer list: alternatives; inner list: scopes that are all required.',
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT],
  args: {
    scopes: {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLString))))),
      description: 'Alternatives of scope sets.',
    },
  },
});

const authenticatedDirective = new GraphQLDirective({
  name: 'authenticated',
  description: 'The field needs a valid access token, but no particular scope.',
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT],
});

builder.queryType({
  description: `Reads. Every field needs a bearer access token; most need scopes. A request is refused before anything runs when it exceeds a limit (README, "Limits"): depth ${QUERY_LIMITS.maxDepth} (QUERY_TOO_DEEP), ${QUERY_LIMITS.maxAliases} aliases (TOO_MANY_ALIASES), pages of ${QUERY_LIMITS.maxPageSize} (PAGE_TOO_LARGE), or a cost of ${QUERY_LIMITS.maxCost.toLocaleString('en-US')} (QUERY_TOO_COMPLEX), where every field costs 1, a connection its page size (default ${QUERY_LIMITS.defaultPageSize}) times its selection, and a list without page arguments ${COST.assumedListSize} times its selection.`,
});
builder.mutationType({ description: 'Changes. Each takes one `input` and returns a payload with `userErrors`.' });

export const schema: GraphQLSchema = builder.toSchema({
  // Listing directives replaces graphql-js' defaults, so @skip, @include, @deprecated,
  // @specifiedBy and @oneOf must be listed too.
  directives: [...specifiedDirectives, requiresScopesDirective, authenticatedDirective],
  sortSchema: false,
});

// The Prisma plugin adds `totalCount` to connections without a description option.
for (const type of Object.values(schema.getTypeMap())) {
  if (isObjectType(type) && type.name.endsWith('Connection')) {
    const totalCount = type.getFields().totalCount;
    if (totalCount && !totalCount.description)
      totalCount.description = 'The number of items in the whole list, across all pages.';
  }
}

sealConnectionCursors(schema);

/** The SDL committed as schema.graphql (and served at /schema.graphql): sorted, with directives. */
export function printSchemaSdl(of: GraphQLSchema = schema): string {
  return `${printSchemaWithDirectives(lexicographicSortSchema(of)).trim()}\n`;
}

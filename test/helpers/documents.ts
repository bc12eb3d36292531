import { Kind, parse, print, visit, type ASTNode, type DocumentNode, type FragmentDefinitionNode } from 'graphql';
// Types only: `npm run codegen` writes them from the graphql() documents of test/ (git-ignored,
// like src/generated). Tests run without them; `npm run typecheck` needs them.
import type { graphql as generatedGraphql } from '../generated/gql.ts';

const fragments = new Map<string, FragmentDefinitionNode>();

function spreadNames(node: ASTNode): string[] {
  const names: string[] = [];
  visit(node, { FragmentSpread: (spread) => void names.push(spread.name.value) });
  return names;
}

function compile(source: string): DocumentNode {
  const document = parse(source);
  const included = new Set<string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    fragments.set(definition.name.value, definition);
    included.add(definition.name.value);
  }
  // Like codegen's documents: the fragments it uses, transitively, travel with it.
  const used: FragmentDefinitionNode[] = [];
  const pending = spreadNames(document);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (included.has(name)) continue;
    const fragment = fragments.get(name);
    if (!fragment)
      throw new Error(`graphql(): fragment ${name} is not defined yet; define it with graphql() before this document`);
    included.add(name);
    used.push(fragment);
    pending.push(...spreadNames(fragment));
  }
  return { ...document, definitions: [...document.definitions, ...used] };
}

/**
 * A static GraphQL document of the test suite, typed by codegen (`npm run codegen`): its result
 * and variables are checked against schema.graphql. Operations need a name unique in the suite
 * (codegen refuses duplicates); fragments are used by name and must be defined before the
 * documents that spread them (the shared ones are below). Documents built at run time stay
 * strings.
 */
export const graphql = compile as unknown as typeof generatedGraphql;

const texts = new WeakMap<DocumentNode, string>();

/** The text sent for a document. */
export function documentText(document: DocumentNode): string {
  let text = texts.get(document);
  if (text === undefined) texts.set(document, (text = print(document)));
  return text;
}

// Selections shared by the suite.

/** Every field of a user. */
graphql(`
  fragment TestUser on User {
    id
    email
    phone
    username
    uniqueId
    name
    givenName
    familyName
    nickname
    picture
    bio
    gender
    birthdate
    locale
    timezone
    country
    region
    city
    status
    isSuspended
    suspendedReason
    hasPassword
    passwordExpired
    emailVerified
    phoneVerified
    customAttributes
    metadata
    version
    deletedAt
  }
`);

/** A payload's user errors. */
graphql(`
  fragment TestUserErrors on UserError {
    code
    field
    message
  }
`);

/** The payload of the user mutations that answer UpdateUserPayload (update, replace, status, password…). */
graphql(`
  fragment TestUpdateUserPayload on UpdateUserPayload {
    user {
      ...TestUser
    }
    userErrors {
      ...TestUserErrors
    }
  }
`);

/** An application with its roles. */
graphql(`
  fragment TestApplication on Application {
    id
    name
    type
    clientId
    redirectUris
    scopes
    secretLastRotatedAt
    createdAt
    updatedAt
    roles {
      id
      name
    }
  }
`);

/** The admin list request of the side-by-side benchmark (q1): a page of users with roles, sessions and the total. */
export const ADMIN_USERS_PAGE = graphql(`
  query TestAdminUsersPage($first: Int!) {
    users(first: $first, orderBy: [{ field: CREATED_AT, direction: DESC }], filter: { includeDeleted: true }) {
      totalCount
      nodes {
        id
        email
        name
        username
        status
        createdAt
        roles {
          name
        }
        sessions {
          nodes {
            ipAddress
            userAgent
          }
        }
      }
    }
  }
`);

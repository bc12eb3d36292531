import { builder, requireScopes } from '../../graphql/builder.ts';
import { forbidden } from '../../graphql/errors.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import type { GraphQLContext } from '../../context.ts';
import { createRealm, deleteRealm, listRealms, type RealmListing, type RealmsContext } from './realm.lifecycle.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import type { UserErrorShape } from '../user-error.ts';

// The realms administration: the system realm's callers (`roster bootstrap --system`) see other
// realms as wholes — names and sizes, creation and deletion — and nothing inside them. The
// scopes `realms:read` and `realms:write` exist only on the system realm's management API, so
// no other realm's token can carry them; the resolvers check the caller's realm as well.

const ManagedRealmRef = builder.objectRef<RealmListing>('ManagedRealm').implement({
  description:
    'A realm as the system realm’s administrators see it: its name and size, never its users, applications or settings.',
  fields: (t) => ({
    id: t.id({ description: 'The global id of the realm.', resolve: (realm) => encodeGlobalId('Realm', realm.id) }),
    name: t.exposeString('name', {
      description: 'The realm’s unique name, part of its issuer `{ROSTER_PUBLIC_URL}/oauth2/{name}`; it never changes.',
    }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'A human-readable name.' }),
    system: t.exposeBoolean('system', { description: 'Whether it is the system realm.' }),
    userCount: t.exposeInt('users', { description: 'Its users that are not deleted.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

const RealmAdminClientRef = builder
  .objectRef<{ clientId: string; clientSecret: string }>('RealmAdminClient')
  .implement({
    description:
      'The machine-to-machine admin client a new realm comes with; it gets tokens at `{ROSTER_PUBLIC_URL}/oauth2/{realm name}/token` (`grant_type=client_credentials`).',
    fields: (t) => ({
      clientId: t.exposeString('clientId', { description: 'Its client id.' }),
      clientSecret: t.exposeString('clientSecret', {
        description: 'Its secret: shown only in this answer, stored only hashed.',
      }),
    }),
  });

type CreateRealmResult = {
  realm: RealmListing | null;
  adminClient: { clientId: string; clientSecret: string } | null;
  userErrors: UserErrorShape[];
};

const CreateRealmPayload = builder.objectRef<CreateRealmResult>('CreateRealmPayload').implement({
  description: 'Result of `createRealm`.',
  fields: (t) => ({
    realm: t.field({
      type: ManagedRealmRef,
      nullable: true,
      description: 'The new realm; null when it was not created.',
      resolve: (payload) => payload.realm,
    }),
    adminClient: t.field({
      type: RealmAdminClientRef,
      nullable: true,
      description: 'The new realm’s admin client, with its secret shown this once; null when nothing was created.',
      resolve: (payload) => payload.adminClient,
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why the realm was not created; empty on success. When not empty, nothing changed.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

const DeleteRealmPayload = builder
  .objectRef<{ realm: RealmListing | null; userErrors: UserErrorShape[] }>('DeleteRealmPayload')
  .implement({
    description: 'Result of `deleteRealm`.',
    fields: (t) => ({
      deletedRealm: t.field({
        type: ManagedRealmRef,
        nullable: true,
        description: 'The realm as it was before its deletion; null when nothing was deleted.',
        resolve: (payload) => payload.realm,
      }),
      userErrors: t.field({
        type: [UserErrorRef],
        description: 'Why the realm was not deleted; empty on success. When not empty, nothing changed.',
        resolve: (payload) => payload.userErrors,
      }),
    }),
  });

const CreateRealmInput = builder.inputType('CreateRealmInput', {
  description: 'Input of `createRealm`.',
  fields: (t) => ({
    name: t.string({
      required: true,
      description:
        'A unique name: lowercase letters, digits and inner hyphens, 1 to 63 characters (a DNS label: it is part of the issuer URL), not of the form of a UUID. It never changes.',
    }),
    displayName: t.string({ description: 'A human-readable name (at most 100 characters).' }),
  }),
});

const DeleteRealmInput = builder.inputType('DeleteRealmInput', {
  description: 'Input of `deleteRealm`.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The name of the realm to delete, as a confirmation.' }),
  }),
});

/**
 * The caller's realms administration; FORBIDDEN unless the caller is of the system realm (only
 * its tokens can hold the scope: this check is the second line).
 */
async function administration(ctx: GraphQLContext, scope: string): Promise<RealmsContext> {
  const admin = await ctx.realmsAdministration?.();
  if (!admin) {
    throw forbidden([scope]);
  }
  return admin;
}

builder.queryField('realms', (t) =>
  t.field({
    type: [ManagedRealmRef],
    description:
      'Every realm, by name, with its number of users. For callers of the system realm (`roster bootstrap --system`); nothing inside a realm is shown.',
    ...requireScopes(['realms:read']),
    resolve: async (_root, _args, ctx) => listRealms((await administration(ctx, 'realms:read')).prisma),
  }),
);

builder.mutationField('createRealm', (t) =>
  t.field({
    type: CreateRealmPayload,
    description:
      'Creates a realm with its built-in management API, admin role and an admin client (its secret in the answer, once), in one transaction. Audited in the new realm and in the system realm. For callers of the system realm.',
    ...requireScopes(['realms:write']),
    args: { input: t.arg({ type: CreateRealmInput, required: true, description: 'The realm to create.' }) },
    resolve: async (_root, { input }, ctx) => {
      const admin = await administration(ctx, 'realms:write');
      const result = await createRealm(admin, { name: input.name, displayName: input.displayName ?? null });
      if (!result.realm || !result.adminClient?.clientSecret) {
        return { realm: null, adminClient: null, userErrors: result.userErrors };
      }
      return {
        realm: { ...result.realm, users: 0 },
        adminClient: { clientId: result.adminClient.clientId, clientSecret: result.adminClient.clientSecret },
        userErrors: [],
      };
    },
  }),
);

builder.mutationField('deleteRealm', (t) =>
  t.field({
    type: DeleteRealmPayload,
    description:
      'Deletes a realm and everything in it — users, applications, keys, sessions, its audit trail — at once, and cannot be undone. The system realm and the only realm are refused (INVALID_STATE). Audited in the system realm. For callers of the system realm.',
    ...requireScopes(['realms:write']),
    args: { input: t.arg({ type: DeleteRealmInput, required: true, description: 'The realm to delete.' }) },
    resolve: async (_root, { input }, ctx) => deleteRealm(await administration(ctx, 'realms:write'), input),
  }),
);

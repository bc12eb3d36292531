import { serviceOf } from '../../context.ts';
import { unauthenticated } from '../../graphql/errors.ts';
import { builder, requireAuthentication } from '../../graphql/builder.ts';
import { ApplicationRef } from '../applications/applications.schema.ts';
import { RealmRef } from '../realm/realm.schema.ts';
import { UserRef } from '../users/users.schema.ts';

/** Who calls with an access token: an application, or a person through one. */
interface ViewerShape {
  clientId: string;
  applicationId: string;
  scopes: ReadonlySet<string>;
  userId: string | null;
}

const ViewerRef = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'The caller: the application whose access token made this request, or the person signed in through it.',
  fields: (t) => ({
    user: t.prismaField({
      type: UserRef,
      nullable: true,
      description:
        'The person the token was issued to, when a person signed in (their own profile, readable without `users:read`); null for an application’s own token.',
      skipTypeScopes: true,
      resolve: (query, viewer, _args, ctx) =>
        viewer.userId ? serviceOf(ctx).db.user.findUnique({ ...query, where: { id: viewer.userId } }) : null,
    }),
    realm: t.prismaField({
      type: RealmRef,
      description: 'The realm the token belongs to.',
      skipTypeScopes: true,
      resolve: (query, _caller, _args, ctx) => serviceOf(ctx).db.realm.findFirstOrThrow({ ...query }),
    }),
    clientId: t.exposeString('clientId', { description: 'The client id the token was issued to.' }),
    application: t.prismaField({
      type: ApplicationRef,
      nullable: true,
      description: 'The application the token was issued to.',
      skipTypeScopes: true,
      resolve: (query, caller, _args, ctx) =>
        serviceOf(ctx).db.application.findUnique({ ...query, where: { id: caller.applicationId } }),
    }),
    scopes: t.stringList({
      description:
        'The management scopes (of `urn:roster:management-api`) this request may use: those of the token that its application — or, for a person, their realm-wide roles and direct grants — still holds.',
      resolve: (caller) => [...caller.scopes].sort(),
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who is calling. Needs a valid access token, no particular scope.',
    ...requireAuthentication,
    resolve: (_root, _args, ctx) => {
      const { caller } = serviceOf(ctx);
      if (caller.kind === 'application') return { ...caller, userId: null };
      // The system never calls over GraphQL, nor does a person without a token.
      if (caller.kind === 'system' || !caller.token) throw unauthenticated();
      return { ...caller.token, scopes: caller.scopes, userId: caller.userId };
    },
  }),
);

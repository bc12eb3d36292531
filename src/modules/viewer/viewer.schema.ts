import { serviceOf, type ApplicationCaller } from '../../context.ts';
import { unauthenticated } from '../../graphql/errors.ts';
import { builder, requireAuthentication } from '../../graphql/builder.ts';
import { ApplicationRef } from '../applications/applications.schema.ts';
import { RealmRef } from '../realm/realm.schema.ts';

const ViewerRef = builder.objectRef<ApplicationCaller>('Viewer').implement({
  description: 'The caller: the application whose access token made this request.',
  fields: (t) => ({
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
        'The management scopes (of `urn:roster:management-api`, the only audience of access tokens) this request may use: those of the token its application still holds.',
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
      // Requests carry application tokens only; the system never calls over GraphQL.
      if (caller.kind !== 'application') throw unauthenticated();
      return caller;
    },
  }),
);

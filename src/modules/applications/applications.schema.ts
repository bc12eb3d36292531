import { builder, requireScopes } from '../../graphql/builder.ts';

export const ApplicationTypeEnum = builder.enumType('ApplicationType', {
  description: 'The kind of an OAuth client application.',
  values: {
    SPA: { description: 'A single-page application running in a browser; public client without a secret.' },
    WEB: { description: 'A server-rendered web application; confidential client with a secret.' },
    NATIVE: { description: 'A mobile or desktop application; public client without a secret.' },
    M2M: { description: 'A machine-to-machine client (scripts, services) using client credentials.' },
  } as const,
});

export const ApplicationRef = builder.prismaNode('Application', {
  description: 'An OAuth client of the realm.',
  id: { field: 'id', description: 'The global id of the application.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['applications:read']),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    type: t.expose('type', { type: ApplicationTypeEnum, description: 'The kind of client.' }),
    clientId: t.exposeString('clientId', { description: 'The public OAuth client id.' }),
    redirectUris: t.expose('redirectUris', { type: ['URL'], description: 'Allowed redirect URIs.' }),
    secretLastRotatedAt: t.expose('secretLastRotatedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the client secret was last set; null for clients without a secret.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the application was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the application last changed.' }),
  }),
});

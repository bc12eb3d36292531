import { builder, requireScopes } from '../../graphql/builder.ts';
import { payloadType, withGlobalDeletedId, deleteInputArg } from '../payloads.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import {
  ATTRIBUTE_LIMITS,
  createCustomAttributeDefinition,
  deleteCustomAttributeDefinition,
  updateCustomAttributeDefinition,
  type DeleteCustomAttributeDefinitionResult,
} from './users.attributes.ts';
import { serviceOf } from '../../context.ts';

// Definitions shape every user's data: changing them is realm configuration (`realm:write`)
// that rewrites user data (`users:write`), so both are required.
const WRITE_SCOPES = ['users:write', 'realm:write'];

const CustomAttributeTypeEnum = builder.enumType('CustomAttributeType', {
  description: 'The value type of a custom user attribute.',
  values: {
    STRING: { description: 'A string.' },
    NUMBER: { description: 'A finite JSON number.' },
    BOOLEAN: { description: 'true or false.' },
    DATE: { description: 'A calendar date, as a `YYYY-MM-DD` string.' },
    ENUM: { description: 'One of the definition’s `options` (a string).' },
  } as const,
});

export const CustomAttributeDefinitionRef = builder.prismaNode('CustomAttributeDefinition', {
  description: 'A typed custom attribute users of the realm can hold in `User.customAttributes`.',
  id: { field: 'id', description: 'The global id of the definition.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['users:read']),
  fields: (t) => ({
    key: t.exposeString('key', {
      description:
        'The key in `User.customAttributes`: a letter, then letters, digits or underscores (at most 64); unique per realm ignoring case; permanent.',
    }),
    displayName: t.exposeString('displayName', { description: 'A human-readable name, 1 to 100 characters.' }),
    type: t.expose('type', { type: CustomAttributeTypeEnum, description: 'The type every value must have.' }),
    options: t.stringList({
      nullable: true,
      description: 'The allowed values of an ENUM attribute, in order; null for other types.',
      resolve: (definition) => (definition.type === 'ENUM' ? definition.options : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the attribute was defined.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the definition last changed.' }),
  }),
});

builder.queryField('customAttributeDefinitions', (t) =>
  t.prismaField({
    type: ['CustomAttributeDefinition'],
    description: 'Every custom attribute definition of the caller’s realm, by key.',
    ...requireScopes(['users:read']),
    resolve: (query, _root, _args, ctx) =>
      serviceOf(ctx).db.customAttributeDefinition.findMany({ ...query, orderBy: [{ key: 'asc' }, { id: 'asc' }] }),
  }),
);

const CustomAttributeDefinitionPayload = payloadType(
  'CustomAttributeDefinitionPayload',
  'customAttributeDefinition',
  CustomAttributeDefinitionRef,
  'Result of creating or changing a custom attribute definition.',
  'The definition after the change; null when it failed.',
);

const optionsDescription = `The allowed values: required for ENUM (1 to ${ATTRIBUTE_LIMITS.options} distinct, non-empty strings of at most ${ATTRIBUTE_LIMITS.optionLength} characters, trimmed); not allowed for other types.`;

const CreateCustomAttributeDefinitionInput = builder.inputType('CreateCustomAttributeDefinitionInput', {
  description: 'Input of `createCustomAttributeDefinition`.',
  fields: (t) => ({
    key: t.string({
      required: true,
      description:
        'The key in `User.customAttributes`: `^[a-zA-Z][a-zA-Z0-9_]{0,63}$`, unique per realm ignoring case. Cannot be changed later.',
    }),
    displayName: t.string({ description: 'A human-readable name (1 to 100 characters); the key when omitted.' }),
    type: t.field({ type: CustomAttributeTypeEnum, required: true, description: 'The type values must have.' }),
    options: t.stringList({ description: optionsDescription }),
  }),
});

builder.mutationField('createCustomAttributeDefinition', (t) =>
  t.field({
    type: CustomAttributeDefinitionPayload,
    description: `Defines a typed custom attribute (at most ${ATTRIBUTE_LIMITS.definitionsPerRealm} per realm). Users already holding a value for the key must hold valid values of the type (INVALID_STATE otherwise).`,
    ...requireScopes(WRITE_SCOPES),
    args: {
      input: t.arg({ type: CreateCustomAttributeDefinitionInput, required: true, description: 'The definition.' }),
    },
    resolve: (_root, { input }, ctx) => createCustomAttributeDefinition(serviceOf(ctx), input),
  }),
);

const CustomAttributeDefinitionPatch = builder.inputType('CustomAttributeDefinitionPatch', {
  description: 'Changes to a custom attribute definition; omitted fields stay as they are.',
  fields: (t) => ({
    displayName: t.string({ description: 'New display name (1 to 100 characters).' }),
    type: t.field({
      type: CustomAttributeTypeEnum,
      description:
        'New type; refused (INVALID_STATE) while any user holds a value for the key. Switching to ENUM needs `options`.',
    }),
    options: t.stringList({
      description: `${optionsDescription} Refused (INVALID_STATE) when it drops a value users hold.`,
    }),
  }),
});

const UpdateCustomAttributeDefinitionInput = builder.inputType('UpdateCustomAttributeDefinitionInput', {
  description: 'Input of `updateCustomAttributeDefinition`.',
  fields: (t) => ({
    id: t.globalID({
      for: CustomAttributeDefinitionRef,
      required: true,
      description: 'The global id of the definition.',
    }),
    patch: t.field({ type: CustomAttributeDefinitionPatch, required: true, description: 'The changes.' }),
  }),
});

builder.mutationField('updateCustomAttributeDefinition', (t) =>
  t.field({
    type: CustomAttributeDefinitionPayload,
    description: 'Changes the display name, type or options of a custom attribute definition. The key is permanent.',
    ...requireScopes(WRITE_SCOPES),
    args: {
      input: t.arg({
        type: UpdateCustomAttributeDefinitionInput,
        required: true,
        description: 'The definition and the changes.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      updateCustomAttributeDefinition(serviceOf(ctx), {
        id: input.id.id,
        patch: input.patch,
      }),
  }),
);

const DeleteCustomAttributeDefinitionPayload = builder
  .objectRef<DeleteCustomAttributeDefinitionResult>('DeleteCustomAttributeDefinitionPayload')
  .implement({
    description: 'Result of deleting a custom attribute definition.',
    fields: (t) => ({
      deletedId: t.exposeID('deletedId', {
        nullable: true,
        description: 'The global id of the deleted definition; null when nothing was deleted.',
      }),
      clearedUserCount: t.exposeInt('clearedUserCount', {
        description: 'How many users (deleted ones included) had a value for the key, now removed.',
      }),
      userErrors: t.field({
        type: [UserErrorRef],
        description: 'Why the definition was not deleted; empty on success.',
        resolve: (payload) => payload.userErrors,
      }),
    }),
  });

builder.mutationField('deleteCustomAttributeDefinition', (t) =>
  t.field({
    type: DeleteCustomAttributeDefinitionPayload,
    description:
      'Deletes a custom attribute definition and, in the same transaction, removes its key from every user’s `customAttributes`.',
    ...requireScopes(WRITE_SCOPES),
    args: {
      input: t.arg(deleteInputArg('CustomAttributeDefinition', 'The definition to delete.')),
    },
    resolve: async (_root, { input }, ctx) => {
      const result = await deleteCustomAttributeDefinition(serviceOf(ctx), input.id.id);
      return withGlobalDeletedId(result, 'CustomAttributeDefinition');
    },
  }),
);

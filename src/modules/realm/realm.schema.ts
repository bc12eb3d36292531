import { builder, requireScopes } from '../../graphql/builder.ts';
import { payloadType } from '../payloads.schema.ts';
import { updateRealmSettings } from './realm.service.ts';
import { serviceOf } from '../../context.ts';

const TenancyModeEnum = builder.enumType('TenancyMode', {
  description: 'How users relate to the tenants of a realm.',
  values: {
    SHARED_POOL: { description: 'A user may belong to any number of tenants.' },
    ISOLATED_POOL: { description: 'A user belongs to at most one tenant.' },
  } as const,
});

const MfaPolicyEnum = builder.enumType('MfaPolicy', {
  description: 'Whether users may or must enrol a second factor.',
  values: {
    OFF: { description: 'Second factors are not offered.' },
    OPTIONAL: { description: 'Users may enrol a second factor.' },
    REQUIRED: { description: 'Users must enrol a second factor to sign in.' },
  } as const,
});

const ProfileFieldEnum = builder.enumType('ProfileField', {
  description: 'A profile field a realm can require for a profile to count as complete.',
  values: {
    NAME: { description: 'The full name.' },
    PHONE: { description: 'The phone number.' },
    PICTURE: { description: 'The profile picture.' },
    BIRTHDATE: { description: 'The date of birth.' },
    COUNTRY: { description: 'The country.' },
  } as const,
});

const RealmSettingsRef = builder.prismaObject('Realm', {
  variant: 'RealmSettings',
  description: 'Settings that apply to every user and token of a realm.',
  fields: (t) => ({
    tenancyMode: t.expose('tenancyMode', { type: TenancyModeEnum, description: 'How users relate to tenants.' }),
    requireEmailVerification: t.exposeBoolean('requireEmailVerification', {
      description: 'Whether users must verify their email address before signing in.',
    }),
    mfaPolicy: t.expose('mfaPolicy', {
      type: MfaPolicyEnum,
      description: 'Whether users may or must use a second factor.',
    }),
    requiredProfileFields: t.expose('requiredProfileFields', {
      type: [ProfileFieldEnum],
      description: 'Fields that must be set for `User.profileComplete` to be true.',
    }),
    accessTokenTtlSeconds: t.exposeInt('accessTokenTtlSeconds', {
      description: 'Lifetime in seconds of access tokens issued from now on (300 to 86400).',
    }),
    maxFailedSignIns: t.exposeInt('maxFailedSignIns', {
      description:
        'Consecutive failed sign-ins, each within `failedSignInWindowSeconds` of the previous, that lock an account (1 to 100).',
    }),
    failedSignInWindowSeconds: t.exposeInt('failedSignInWindowSeconds', {
      description:
        'How long a failed sign-in (or the end of a lockout) keeps counting towards the next lockout, in seconds (60 to 86400).',
    }),
    lockoutSeconds: t.exposeInt('lockoutSeconds', {
      description:
        'Length of an account’s first lockout in seconds (60 to 86400); each further lockout without a successful sign-in between lasts twice the previous one, at most a day.',
    }),
    sessionIdleTimeoutSeconds: t.exposeInt('sessionIdleTimeoutSeconds', {
      description:
        'A sign-in’s session and its refresh tokens end after this many seconds without a token refresh or a sign-in to an application (300 to 31536000; at most `sessionMaxLifetimeSeconds`).',
    }),
    sessionMaxLifetimeSeconds: t.exposeInt('sessionMaxLifetimeSeconds', {
      description:
        'A sign-in’s session and its refresh tokens end this many seconds after the password was entered, however often they are used or rotated (300 to 31536000).',
    }),
    mailFrom: t.exposeString('mailFrom', {
      nullable: true,
      description:
        'The sender of the realm’s emails, e.g. `Example <no-reply@example.com>`; null: `no-reply@` the host of the server’s public URL.',
    }),
    impersonationEnabled: t.exposeBoolean('impersonationEnabled', {
      description:
        'Whether machine-to-machine applications holding `users:impersonate` may get a user’s access token by token exchange (RFC 8693) at the realm’s token endpoint. Off by default.',
    }),
    impersonateAdministrators: t.exposeBoolean('impersonateAdministrators', {
      description:
        'Whether users holding the built-in administrator role (Roster Administrator) may be impersonated too. Off by default: an impersonation of them is refused.',
    }),
    webhookResponseRetentionDays: t.exposeInt('webhookResponseRetentionDays', {
      description:
        'How many days the start of a webhook answer’s body (`OutboxMessage.responseBody`) is kept after the attempt that got it, 1 to 365 (default 30); the background worker removes older ones, keeping the attempt’s status, duration and error.',
    }),
    passwordMinLength: t.exposeInt('passwordMinLength', {
      description:
        'The fewest characters a new password may have, 8 to 128 (default 8): checked when a password is set, changed or reset, not for passwords already set.',
    }),
  }),
});

export const RealmRef = builder.prismaNode('Realm', {
  description: 'An isolation boundary (one customer or project). Tokens of one realm never see another realm.',
  id: { field: 'id', description: 'The global id of the realm.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['realm:read']),
  fields: (t) => ({
    name: t.exposeString('name', {
      description: 'The unique name of the realm, usable in place of its id in OAuth URLs.',
    }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'A human-readable name.' }),
    settings: t.variant(RealmSettingsRef, { description: 'The realm’s settings.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the realm was created.' }),
  }),
});

builder.queryField('realm', (t) =>
  t.prismaField({
    type: 'Realm',
    description: 'The caller’s realm.',
    ...requireScopes(['realm:read']),
    resolve: (query, _root, _args, ctx) => serviceOf(ctx).db.realm.findFirstOrThrow({ ...query }),
  }),
);

const RealmSettingsPatch = builder.inputType('RealmSettingsPatch', {
  description: 'Changes to realm settings; omitted fields stay as they are.',
  fields: (t) => ({
    tenancyMode: t.field({ type: TenancyModeEnum, description: 'New tenancy mode.' }),
    requireEmailVerification: t.boolean({ description: 'Whether users must verify their email address.' }),
    mfaPolicy: t.field({ type: MfaPolicyEnum, description: 'New MFA policy.' }),
    requiredProfileFields: t.field({ type: [ProfileFieldEnum], description: 'New list of required profile fields.' }),
    accessTokenTtlSeconds: t.int({ description: 'New access token lifetime in seconds, 300 to 86400.' }),
    maxFailedSignIns: t.int({ description: 'New number of failed sign-ins that lock an account, 1 to 100.' }),
    failedSignInWindowSeconds: t.int({ description: 'New failed sign-in window in seconds, 60 to 86400.' }),
    lockoutSeconds: t.int({ description: 'New length of a first lockout in seconds, 60 to 86400.' }),
    sessionIdleTimeoutSeconds: t.int({
      description: 'New idle timeout of sessions in seconds, 300 to 31536000, at most the maximum lifetime.',
    }),
    sessionMaxLifetimeSeconds: t.int({
      description: 'New maximum lifetime of sessions in seconds, 300 to 31536000, at least the idle timeout.',
    }),
    mailFrom: t.string({
      description:
        'New sender of the realm’s emails: one address, optionally with a name (`Example <no-reply@example.com>`), at most 320 characters; null: the server’s default sender.',
    }),
    impersonationEnabled: t.boolean({
      description: 'Whether impersonation by token exchange is allowed in the realm (see `RealmSettings`).',
    }),
    impersonateAdministrators: t.boolean({
      description: 'Whether users holding the built-in administrator role may be impersonated.',
    }),
    webhookResponseRetentionDays: t.int({
      description:
        'New number of days webhook answer bodies are kept after their attempt, 1 to 365; a shorter one applies to bodies kept already at the next background sweep.',
    }),
    passwordMinLength: t.int({
      description: 'New minimum length of new passwords in characters, 8 to 128.',
    }),
  }),
});

const UpdateRealmSettingsInput = builder.inputType('UpdateRealmSettingsInput', {
  description: 'Input of `updateRealmSettings`.',
  fields: (t) => ({
    patch: t.field({ type: RealmSettingsPatch, required: true, description: 'The settings to change.' }),
  }),
});

const RealmPayload = payloadType(
  'RealmPayload',
  'realm',
  RealmRef,
  'Result of a realm change.',
  'The realm after the change; null when it failed.',
);

builder.mutationField('updateRealmSettings', (t) =>
  t.field({
    type: RealmPayload,
    description: 'Changes realm settings. Validated as a whole: on any error nothing changes.',
    ...requireScopes(['realm:write']),
    args: { input: t.arg({ type: UpdateRealmSettingsInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, ctx) => updateRealmSettings(serviceOf(ctx), input.patch),
  }),
);

import type { CustomAttributeDefinition, CustomAttributeType } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { clearAttribute, countAttributeHolders } from './users.attributes.queries.ts';
import { diffFields, recordAudit } from '../audit/audit.service.ts';
import { checkName } from '../input-checks.ts';
import {
  inTransaction,
  notFound,
  refused,
  userError,
  type DeleteResult,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';

/** A letter, then letters, digits or underscores: 1 to 64 characters. */
const ATTRIBUTE_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,63}$/;

export const ATTRIBUTE_LIMITS = {
  /** Definitions per realm. */
  definitionsPerRealm: 200,
  /** Options of an ENUM attribute. */
  options: 100,
  /** Characters of one ENUM option. */
  optionLength: 100,
} as const;

function checkKey(key: string, field: string[], errors: UserErrorShape[]): void {
  if (!key) errors.push(userError('REQUIRED', 'The key must not be empty.', field));
  else if (key.length > 64) errors.push(userError('TOO_LONG', 'The key must be at most 64 characters.', field));
  else if (!ATTRIBUTE_KEY.test(key)) {
    errors.push(
      userError('INVALID', 'The key must start with a letter and contain only letters, digits and underscores.', field),
    );
  }
}

/**
 * Checks the options of an attribute of `type`: ENUM needs 1 to 100 distinct, non-empty
 * options of at most 100 characters (trimmed); other types take none. Returns the options to
 * store.
 */
function checkOptions(
  type: CustomAttributeType,
  options: readonly string[] | null | undefined,
  field: string[],
  errors: UserErrorShape[],
): string[] {
  if (type !== 'ENUM') {
    if (options && options.length > 0)
      errors.push(userError('INVALID', `Only ENUM attributes take options, not ${type}.`, field));
    return [];
  }
  if (!options || options.length === 0) {
    errors.push(userError('REQUIRED', 'An ENUM attribute needs at least one option.', field));
    return [];
  }
  if (options.length > ATTRIBUTE_LIMITS.options) {
    errors.push(
      userError('LIMIT_EXCEEDED', `An ENUM attribute has at most ${ATTRIBUTE_LIMITS.options} options.`, field),
    );
    return [];
  }
  const seen = new Set<string>();
  const trimmed = options.map((option, index) => {
    const value = option.trim();
    const at = [...field, String(index)];
    if (!value) errors.push(userError('REQUIRED', 'An option must not be empty.', at));
    else if ([...value].length > ATTRIBUTE_LIMITS.optionLength) {
      errors.push(userError('TOO_LONG', `An option must be at most ${ATTRIBUTE_LIMITS.optionLength} characters.`, at));
    } else if (/\p{Cc}/u.test(value))
      errors.push(userError('INVALID', 'An option must not contain control characters.', at));
    else if (seen.has(value)) errors.push(userError('INVALID', `The option "${value}" is listed twice.`, at));
    seen.add(value);
    return value;
  });
  return trimmed;
}

const users = (count: number) => `${count} user${count === 1 ? '' : 's'}`;

export interface CreateCustomAttributeDefinitionInput {
  key: string;
  displayName?: string | null;
  type: CustomAttributeType;
  options?: readonly string[] | null;
}

/**
 * Defines a typed custom attribute. Keys are unique per realm ignoring case; users who already
 * hold a value for the key must hold valid values of the new type.
 */
export async function createCustomAttributeDefinition(
  ctx: ServiceContext,
  input: CreateCustomAttributeDefinitionInput,
): Promise<MutationResult<'customAttributeDefinition', CustomAttributeDefinition>> {
  const errors: UserErrorShape[] = [];
  const keyField = ['input', 'key'];
  checkKey(input.key, keyField, errors);
  const displayName =
    input.displayName == null ? input.key : checkName(input.displayName, ['input', 'displayName'], errors);
  const options = checkOptions(input.type, input.options, ['input', 'options'], errors);
  if (errors.length) return refused('customAttributeDefinition', ...errors);

  const taken = () =>
    refused(
      'customAttributeDefinition',
      userError('TAKEN', `A custom attribute "${input.key}" is already defined (keys ignore case).`, keyField),
    );
  return inTransaction(
    ctx,
    async (tx) => {
      const existing = await tx.customAttributeDefinition.findMany({ select: { key: true } });
      if (existing.some((d) => d.key.toLowerCase() === input.key.toLowerCase())) return taken();
      if (existing.length >= ATTRIBUTE_LIMITS.definitionsPerRealm) {
        return refused(
          'customAttributeDefinition',
          userError(
            'LIMIT_EXCEEDED',
            `A realm has at most ${ATTRIBUTE_LIMITS.definitionsPerRealm} custom attributes.`,
            keyField,
          ),
        );
      }
      const invalid = await countAttributeHolders(tx, ctx.realmId, input.key, { type: input.type, options });
      if (invalid > 0) {
        return refused(
          'customAttributeDefinition',
          userError(
            'INVALID_STATE',
            `${users(invalid)} already hold${invalid === 1 ? 's' : ''} a "${input.key}" value that is not a valid ${input.type}; fix or remove those values first.`,
            ['input', 'type'],
          ),
        );
      }
      const definition = await tx.customAttributeDefinition.create({
        data: { realmId: ctx.realmId, key: input.key, displayName, type: input.type, options },
      });
      await recordAudit(tx, ctx, {
        action: 'custom_attribute.created',
        targetType: 'CustomAttributeDefinition',
        targetId: definition.id,
        changes: { key: definition.key, displayName, type: definition.type, options },
      });
      return { customAttributeDefinition: definition, userErrors: [] };
    },
    () => taken(),
  );
}

export interface CustomAttributeDefinitionPatch {
  displayName?: string | null;
  type?: CustomAttributeType | null;
  options?: readonly string[] | null;
}

/**
 * Changes the display name, type or options of a definition (the key is permanent). The type
 * cannot change while any user holds a value; ENUM options cannot drop a value users hold.
 */
export async function updateCustomAttributeDefinition(
  ctx: ServiceContext,
  input: { id: string; patch: CustomAttributeDefinitionPatch },
): Promise<MutationResult<'customAttributeDefinition', CustomAttributeDefinition>> {
  const { patch } = input;
  const at = (name: string) => ['input', 'patch', name];
  const errors: UserErrorShape[] = [];
  for (const key of ['displayName', 'type'] as const) {
    if (patch[key] === null) errors.push(userError('REQUIRED', `The ${key} cannot be cleared.`, at(key)));
  }
  const displayName = patch.displayName == null ? undefined : checkName(patch.displayName, at('displayName'), errors);
  if (errors.length) return refused('customAttributeDefinition', ...errors);

  return inTransaction(ctx, async (tx) => {
    const before = await tx.customAttributeDefinition.findUnique({ where: { id: input.id } });
    if (!before) {
      return refused('customAttributeDefinition', notFound('custom attribute definition', ['input', 'id']));
    }
    const type = patch.type ?? before.type;
    // Switching to ENUM needs options; switching away drops them; otherwise omitted options stay.
    const requested = patch.options === undefined ? (type === before.type ? before.options : undefined) : patch.options;
    const options = checkOptions(type, requested, at('options'), errors);
    if (errors.length) return refused('customAttributeDefinition', ...errors);

    const data = { ...(displayName === undefined ? {} : { displayName }), type, options };
    const changes = diffFields(before as unknown as Record<string, unknown>, data);
    if (Object.keys(changes).length === 0) return { customAttributeDefinition: before, userErrors: [] };
    if (changes.type) {
      const holders = await countAttributeHolders(tx, ctx.realmId, before.key);
      if (holders > 0) {
        return refused(
          'customAttributeDefinition',
          userError(
            'INVALID_STATE',
            `${users(holders)} hold${holders === 1 ? 's' : ''} a "${before.key}" value; the type cannot change until no user holds one.`,
            at('type'),
          ),
        );
      }
    } else if (changes.options) {
      const invalid = await countAttributeHolders(tx, ctx.realmId, before.key, { type, options });
      if (invalid > 0) {
        return refused(
          'customAttributeDefinition',
          userError(
            'INVALID_STATE',
            `${users(invalid)} hold${invalid === 1 ? 's' : ''} a "${before.key}" value these options no longer allow; change those values first.`,
            at('options'),
          ),
        );
      }
    }
    const definition = await tx.customAttributeDefinition.update({ where: { id: before.id }, data });
    await recordAudit(tx, ctx, {
      action: 'custom_attribute.updated',
      targetType: 'CustomAttributeDefinition',
      targetId: definition.id,
      changes: { key: before.key, ...changes },
    });
    return { customAttributeDefinition: definition, userErrors: [] };
  });
}

export type DeleteCustomAttributeDefinitionResult = DeleteResult & { clearedUserCount: number };

/**
 * Deletes a definition and, in the same transaction, removes its key from every user's
 * `customAttributes` (deleted users included), bumping their version.
 */
export async function deleteCustomAttributeDefinition(
  ctx: ServiceContext,
  id: string,
): Promise<DeleteCustomAttributeDefinitionResult> {
  return inTransaction(ctx, async (tx) => {
    const definition = await tx.customAttributeDefinition.findUnique({ where: { id } });
    if (!definition) {
      return {
        deletedId: null,
        clearedUserCount: 0,
        userErrors: [notFound('custom attribute definition', ['input', 'id'])],
      };
    }
    await tx.customAttributeDefinition.delete({ where: { id } });
    const cleared = await clearAttribute(tx, ctx.realmId, definition.key);
    await recordAudit(tx, ctx, {
      action: 'custom_attribute.deleted',
      targetType: 'CustomAttributeDefinition',
      targetId: definition.id,
      changes: { key: definition.key, type: definition.type, clearedUserCount: cleared },
    });
    return { deletedId: id, clearedUserCount: cleared, userErrors: [] };
  });
}

import {
  coerceInputValue,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql';
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { UUID } from '../auth/ids.ts';
import { parseGlobalId, type DecodedGlobalId } from './ids.ts';

/** Bounds on what one request may ask for; see the README's "Limits". */
export const INPUT_LIMITS = {
  /** Elements of any list argument or input field, unless the field declares `maxItems`. */
  maxListItems: 100,
  /** Nesting of a JSON/JSONObject value (an object or array is one level). */
  maxJsonDepth: 16,
  /** Values (objects, arrays, keys' values, elements) in one JSON/JSONObject value. */
  maxJsonValues: 5000,
  /** Nesting of a variable's raw value, checked before it is coerced. */
  maxVariableDepth: 64,
} as const;

/**
 * What an argument, input field or input type may declare in its `extensions`:
 * - `maxItems` (argument or input field): the most elements its list may hold.
 * - `checkInput` (input type): checks a whole value of the type (e.g. a filter tree) and returns
 *   what it adds to the request cost; throws `InputBoundsError` to refuse it.
 * - `uuidCursor` (argument): a Prisma connection cursor (`GPC:`) given here must hold a uuid.
 * - `isRelayGlobalID`, `relayGlobalIDFor` (argument or input field; set by the Relay plugin's
 *   `globalID`/`globalIDList`): each value must be a global id, of one of these types if any.
 * - `globalIdsAt` (argument): narrows the global id fields of a shared input type for this
 *   argument, by path below it, e.g. `{ id: ['Role'] }` on `deleteRole(input: DeleteInput!)`.
 */
interface InputBoundsExtensions {
  maxItems?: number;
  uuidCursor?: boolean;
  checkInput?: (value: Record<string, unknown>, path: string) => number;
  isRelayGlobalID?: boolean;
  relayGlobalIDFor?: readonly { typename: string }[] | null;
  globalIdsAt?: Readonly<Record<string, readonly string[]>>;
}

/** A value outside a bound: `path` names the argument (e.g. `filter.AND.0.search`). */
export class InputBoundsError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'InputBoundsError';
  }
}

const JSON_SCALARS = new Set(['JSON', 'JSONObject']);
// With the u flag, paired surrogates form one code point: only unpaired ones match.
const LONE_SURROGATE = /\p{Cs}/u;

function extensionsOf(thing: { extensions?: unknown }): InputBoundsExtensions {
  return thing.extensions ?? {};
}

/** The types a position takes global ids of: undefined when it takes none, null when any type. */
type GlobalIdTypes = readonly string[] | null | undefined;

function globalIdTypesOf(extensions: InputBoundsExtensions): GlobalIdTypes {
  if (!extensions.isRelayGlobalID) return undefined;
  return extensions.relayGlobalIDFor?.map(({ typename }) => typename) ?? null;
}

// "an Application", "a User": type names starting with U here sound like "you".
const withArticle = (typename: string) => `${/^[AEIO]/.test(typename) ? 'an' : 'a'} ${typename}`;

/** A global id that does not decode, or names an object of a type its position does not take. */
class GlobalIdError extends InputBoundsError {
  constructor(path: string, problem: string) {
    super(path, problem);
    this.message = `${path} ${problem}.`;
  }
}

/** Decodes the global id at `path`; refuses a malformed one and one of another type than `types`. */
function checkGlobalId(value: string, types: readonly string[] | null, path: string): DecodedGlobalId {
  const decoded = parseGlobalId(value);
  if (!decoded) throw new GlobalIdError(path, 'is not a valid ID');
  if (types && !types.includes(decoded.typename)) {
    const expected = types.map(withArticle).join(' or ');
    throw new GlobalIdError(path, `must be the ID of ${expected}, got the ID of ${withArticle(decoded.typename)}`);
  }
  return decoded;
}

/** Why a string cannot be stored or compared: NUL bytes, unpaired UTF-16 surrogates. */
export function stringProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL (U+0000) characters';
  if (LONE_SURROGATE.test(value)) return 'must not contain unpaired UTF-16 surrogates';
  return null;
}

/**
 * Refuses a Prisma connection cursor whose id is not a uuid: Pothos would hand it to the
 * query, which fails in the database. Other cursors are checked by their connections.
 */
function checkUuidCursor(value: string, path: string): void {
  if (!Buffer.from(value, 'base64').toString('utf8').startsWith('GPC:')) return;
  let id: unknown;
  try {
    id = parsePrismaCursor(value);
  } catch {
    return; // Pothos refuses it itself, as BAD_USER_INPUT.
  }
  if (typeof id !== 'string' || !UUID.test(id)) throw new InputBoundsError(path, 'is not a valid cursor');
}

/** Checks a JSON value without recursion; returns how many values it holds. */
function checkJson(root: unknown, path: string): number {
  const stack: [unknown, number][] = [[root, 1]];
  let nodes = 0;
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (++nodes > INPUT_LIMITS.maxJsonValues)
      throw new InputBoundsError(path, `holds more than ${INPUT_LIMITS.maxJsonValues} JSON values`);
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) throw new InputBoundsError(path, problem);
    } else if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new InputBoundsError(path, 'numbers must be finite');
    } else if (value !== null && typeof value === 'object') {
      if (depth > INPUT_LIMITS.maxJsonDepth)
        throw new InputBoundsError(path, `nests deeper than ${INPUT_LIMITS.maxJsonDepth} levels`);
      for (const [key, inner] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
        if (typeof key === 'string') {
          const problem = stringProblem(key);
          if (problem) throw new InputBoundsError(path, `keys ${problem}`);
        }
        stack.push([inner, depth + 1]);
      }
    }
  }
  return nodes;
}

/** Where a value sits, so that a decoded global id can replace it. */
interface Slot {
  holder: object;
  key: string | number;
}

/**
 * Checks one coerced argument value against its type, without recursion: list lengths, strings,
 * global ids, JSON values, and the `checkInput` of input types. Returns its cost: one per list
 * element plus what `checkInput` adds (a filter's conditions). With `decode`, each global id is
 * replaced by what it holds (`{ typename, id }`), as Pothos hands them to resolvers.
 */
function checkArgument(
  root: unknown,
  rootType: GraphQLInputType,
  rootPath: string,
  rootExtensions: InputBoundsExtensions,
  decode?: Slot,
): number {
  const stack: {
    value: unknown;
    type: GraphQLInputType;
    path: string;
    maxItems: number;
    globalIds: GlobalIdTypes;
    checked: ReadonlySet<string>;
    slot: Slot | undefined;
  }[] = [
    {
      value: root,
      type: rootType,
      path: rootPath,
      maxItems: rootExtensions.maxItems ?? INPUT_LIMITS.maxListItems,
      globalIds: globalIdTypesOf(rootExtensions),
      checked: new Set(),
      slot: decode,
    },
  ];
  let cost = 0;
  const narrowed = rootExtensions.globalIdsAt;
  while (stack.length) {
    const { value, type: declared, path, maxItems, globalIds, checked, slot } = stack.pop()!;
    if (value === null || value === undefined) continue;
    const type = getNullableType(declared);
    if (isListType(type)) {
      const items = value as unknown[];
      if (items.length > maxItems) throw new InputBoundsError(path, `at most ${maxItems} values (got ${items.length})`);
      cost += items.length;
      items.forEach((item, index) =>
        stack.push({
          value: item,
          type: type.ofType,
          path: `${path}.${index}`,
          maxItems,
          globalIds,
          checked,
          slot: slot && { holder: items, key: index },
        }),
      );
    } else if (isInputObjectType(type)) {
      const object = value as Record<string, unknown>;
      const check = extensionsOf(type).checkInput;
      let within = checked;
      // Checked once, at the outermost value of the type: the check covers the nested ones.
      if (check && !checked.has(type.name)) {
        cost += check(object, path);
        within = new Set([...checked, type.name]);
      }
      for (const field of Object.values(type.getFields())) {
        if (object[field.name] === undefined) continue;
        const extensions = extensionsOf(field);
        stack.push({
          value: object[field.name],
          type: field.type,
          path: `${path}.${field.name}`,
          maxItems: extensions.maxItems ?? INPUT_LIMITS.maxListItems,
          globalIds: narrowed?.[`${path}.${field.name}`.slice(rootPath.length + 1)] ?? globalIdTypesOf(extensions),
          checked: within,
          slot: slot && { holder: object, key: field.name },
        });
      }
    } else if (globalIds !== undefined && typeof value === 'string') {
      const decoded = checkGlobalId(value, globalIds, path);
      if (slot) Reflect.set(slot.holder, slot.key, decoded);
    } else if (JSON_SCALARS.has(type.name)) {
      checkJson(value, path);
    } else if (typeof value === 'string' && !isEnumType(type)) {
      const problem = stringProblem(value);
      if (problem) throw new InputBoundsError(path, problem);
    }
  }
  return cost;
}

/**
 * Checks the argument values of one field (coerced, variables applied) and returns what they add
 * to the request cost: one per list element plus what `checkInput` adds (a filter's conditions).
 * Throws InputBoundsError naming the argument path for a value out of bounds.
 */
export function checkFieldArguments(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  let cost = 0;
  for (const arg of field.args) {
    const value = args[arg.name];
    if (value === undefined) continue;
    if (extensionsOf(arg).uuidCursor && typeof value === 'string') checkUuidCursor(value, arg.name);
    cost += checkArgument(value, arg.type, arg.name, extensionsOf(arg));
  }
  return cost;
}

/** The deepest nesting of a raw JSON value, counted without recursion (stops past `limit`). */
export function rawDepthExceeds(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const inner of Array.isArray(value) ? value : Object.values(value)) stack.push([inner, depth + 1]);
  }
  return false;
}

/**
 * A JSON value given outside GraphQL (e.g. a filter in a REST request) as a resolver would get
 * it as an argument of `type`: coerced like a variable, checked like an argument (bounds,
 * strings, JSON, `checkInput`, global ids), and with its global ids decoded to `{ typename, id }`
 * as the Relay plugin decodes them. Throws InputBoundsError naming the path under `path`.
 */
export function decodeInputValue(value: unknown, type: GraphQLInputType, path: string): unknown {
  if (rawDepthExceeds(value, INPUT_LIMITS.maxVariableDepth)) {
    throw new InputBoundsError(path, `nests deeper than ${INPUT_LIMITS.maxVariableDepth} levels`);
  }
  const holder = {
    value: coerceInputValue(value, type, (at, _invalid, error) => {
      throw new InputBoundsError([path, ...at].join('.'), error.message);
    }),
  };
  checkArgument(holder.value, type, path, {}, { holder, key: 'value' });
  return holder.value;
}

import type { Plugin } from '@envelop/core';
import {
  defaultFieldResolver,
  GraphQLError,
  isObjectType,
  BREAK,
  Kind,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { decrypt, encrypt } from '../auth/crypto.ts';
import type { GraphQLContext } from '../context.ts';
import { executionInput } from './execution-input.ts';

/** What every sealed value of `encrypt` starts with (its format version). */
const SEALED = 'v1.';
const CURSOR_ARGUMENTS = new Set(['after', 'before']);

// Per parsed document (Yoga parses each query text once): whether any argument is a cursor. Most
// requests have none, and walking the whole document for each of them cost about 1% of a small query.
const withCursors = new WeakMap<DocumentNode, boolean>();

function hasCursorArguments(document: DocumentNode): boolean {
  let found = withCursors.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      Argument(node: ArgumentNode) {
        if (!CURSOR_ARGUMENTS.has(node.name.value)) return undefined;
        found = true;
        return BREAK;
      },
    });
    withCursors.set(document, found);
  }
  return found;
}

interface Sealing {
  key: Buffer;
  realmId: string;
}

function sealingOf(context: unknown): Sealing | null {
  const service = (context as Partial<GraphQLContext> | undefined)?.service;
  return service?.cursorKey ? { key: service.cursorKey, realmId: service.realmId } : null;
}

const associatedData = (realmId: string) => `connection-cursor:${realmId}`;

/**
 * Makes every connection cursor opaque. Pothos' connections (`t.prismaConnection`,
 * `t.relatedConnection`, array connections) and the value lists write readable cursors (base64
 * of a row id, an offset, a count and value); the users lists seal their own. Every `cursor` of
 * an edge and `startCursor`/`endCursor` of `PageInfo` that is not sealed yet is sealed here
 * (AES-256-GCM, bound to the caller's realm); `cursorArgumentsPlugin` opens them again before
 * execution. A cursor is only valid in the realm it was issued in, and cannot be forged.
 */
export function sealConnectionCursors(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const names =
      type.name === 'PageInfo' ? ['startCursor', 'endCursor'] : type.name.endsWith('Edge') ? ['cursor'] : [];
    for (const name of names) {
      const field = type.getFields()[name];
      if (!field) continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context, info) => {
        const value = resolve(source, args, context, info);
        return value instanceof Promise ? value.then((v: unknown) => seal(v, context)) : seal(value, context);
      };
    }
  }
}

function seal(value: unknown, context: unknown): unknown {
  if (typeof value !== 'string' || value.startsWith(SEALED)) return value;
  const sealing = sealingOf(context);
  return sealing ? encrypt(sealing.key, value, associatedData(sealing.realmId)) : value;
}

/**
 * The cursor a caller passed, as the connection reads it: a cursor sealed by
 * `sealConnectionCursors` opened; one sealed otherwise (the users lists' own) as it is; null for
 * anything else, which no connection of this API ever returned.
 */
function open(value: string, sealing: Sealing): string | null {
  if (!value.startsWith(SEALED)) return null;
  try {
    return decrypt(sealing.key, value, associatedData(sealing.realmId));
  } catch {
    return value;
  }
}

const rewritten = new WeakSet<DocumentNode>();

/** Whether the cursor plugin made `document` for one request (it held cursor literals). */
export function isRewrittenDocument(document: DocumentNode): boolean {
  return rewritten.has(document);
}

function invalidCursor(argument: string): GraphQLError {
  return new GraphQLError(`Invalid cursor in "${argument}": pass a cursor this API returned, in the same realm.`, {
    extensions: { code: 'BAD_USER_INPUT', argument },
  });
}

/**
 * Opens the sealed cursors of `after` and `before` arguments (literals and variables) before
 * execution, everywhere in the document: nested connections are planned from the arguments of
 * the document before their own resolvers run. A cursor that is not sealed is refused with
 * BAD_USER_INPUT before anything runs.
 */
export function cursorArgumentsPlugin(): Plugin<GraphQLContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const sealing = sealingOf(args.contextValue);
      if (!sealing) return;
      const input = executionInput(args);
      if (!hasCursorArguments(input.document)) return;
      const variables = { ...input.variableValues };
      let refused: GraphQLError | null = null;
      const opened = new Set<string>();
      const document: DocumentNode = visit(input.document, {
        Argument(node: ArgumentNode) {
          if (!CURSOR_ARGUMENTS.has(node.name.value) || refused) return undefined;
          if (node.value.kind === Kind.VARIABLE) {
            // A variable used by several arguments is opened once.
            const name = node.value.name.value;
            const value = variables[name];
            if (typeof value !== 'string' || opened.has(name)) return undefined;
            const cursor = open(value, sealing);
            if (cursor === null) refused = invalidCursor(node.name.value);
            else {
              variables[name] = cursor;
              opened.add(name);
            }
            return undefined;
          }
          if (node.value.kind !== Kind.STRING) return undefined;
          const cursor = open(node.value.value, sealing);
          if (cursor === null) {
            refused = invalidCursor(node.name.value);
            return undefined;
          }
          return cursor === node.value.value ? undefined : { ...node, value: { ...node.value, value: cursor } };
        },
      });
      if (refused) {
        setResultAndStopExecution({ errors: [refused] });
        return;
      }
      if (document !== input.document) {
        rewritten.add(document);
        (args as { document: DocumentNode }).document = document;
      }
      if (opened.size) (args as { variableValues: Record<string, unknown> }).variableValues = variables;
    },
  };
}

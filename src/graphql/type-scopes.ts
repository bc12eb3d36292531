import SchemaBuilder, {
  BasePlugin,
  type PothosOutputFieldConfig,
  type PothosTypeConfig,
  type SchemaTypes,
} from '@pothos/core';
import { AuthScopeFailureType, ForbiddenError, type AuthFailure } from '@pothos/plugin-scope-auth';
import type { GraphQLFieldResolver } from 'graphql';
import type { GraphQLContext } from '../context.ts';
import { satisfies } from '../auth/scopes.ts';

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types['Context'], object>;

/** A type's scopes in the two static forms `requireScopes` and `requireAuthentication` declare. */
type StaticTypeScopes = { requiresScopes: string[][] } | { authenticated: true };

const KEY = 'rosterTypeScopes';

function staticScopes(authScopes: unknown): StaticTypeScopes | null {
  if (typeof authScopes !== 'object' || authScopes === null) return null;
  const keys = Object.keys(authScopes);
  if (keys.length !== 1) return null;
  const { requiresScopes, authenticated } = authScopes as Record<string, unknown>;
  if (Array.isArray(requiresScopes)) return { requiresScopes: requiresScopes as string[][] };
  if (authenticated === true) return { authenticated: true };
  return null;
}

/**
 * Checks an object type's static scopes before each of its fields resolves, as scope-auth does,
 * at a fraction of the cost. Scope-auth runs a type's scopes as a step of every field (a 50-user
 * page is about 600 of them), each through its generic scope-map evaluation and per-request
 * cache: a sixth of a list request's CPU. These scopes depend on the caller alone, so the check
 * is one set lookup. The failure and the error are the ones scope-auth would give: the builder's
 * `unauthorizedError` receives the same `requiresScopes` failure, names the same field and
 * records the same denial. A type whose scopes are a function or another form keeps scope-auth's
 * step. (Scope-auth's `runScopesOnType`, once per object, is no option: it checks in
 * `isTypeOf`, which graphql-jit calls without the context.)
 */
class TypeScopesPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onTypeConfig(typeConfig: PothosTypeConfig): PothosTypeConfig {
    if (typeConfig.kind !== 'Object') return typeConfig;
    const scopes = staticScopes(typeConfig.pothosOptions.authScopes);
    if (!scopes) return typeConfig;
    return {
      ...typeConfig,
      pothosOptions: { ...typeConfig.pothosOptions, authScopes: undefined },
      extensions: { ...typeConfig.extensions, [KEY]: scopes },
    };
  }

  override wrapResolve(resolver: Resolver<Types>, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> {
    const typeConfig = this.buildCache.getTypeConfig(fieldConfig.parentType);
    const scopes = typeConfig.extensions?.[KEY] as StaticTypeScopes | undefined;
    if (!scopes || (fieldConfig.pothosOptions as { skipTypeScopes?: boolean }).skipTypeScopes) return resolver;
    const unauthorizedError = this.builder.options.scopeAuth?.unauthorizedError;
    if (!unauthorizedError) throw new Error('type scopes need the builder’s scopeAuth.unauthorizedError');
    const alternatives = 'requiresScopes' in scopes ? scopes.requiresScopes : null;
    const failure: AuthFailure = alternatives
      ? { kind: AuthScopeFailureType.AuthScope, scope: 'requiresScopes', parameter: alternatives, error: null }
      : { kind: AuthScopeFailureType.AuthScope, scope: 'authenticated', parameter: true, error: null };
    const message = `Not authorized to read fields for ${typeConfig.name}`;
    return (parent, args, context, info) => {
      const service = (context as GraphQLContext).service;
      if (service !== null && (!alternatives || satisfies(service.caller.scopes, alternatives))) {
        return resolver(parent, args, context, info);
      }
      const error = unauthorizedError(parent as object, context, info, { message, failure });
      throw typeof error === 'string' ? new ForbiddenError(error, failure) : error;
    };
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      typeScopes: TypeScopesPlugin<Types>;
    }
  }
}

const pluginName = 'typeScopes';
SchemaBuilder.registerPlugin(pluginName, TypeScopesPlugin);

export default pluginName;

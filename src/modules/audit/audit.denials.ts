import type { Plugin } from '@envelop/core';
import { getOperationAST } from 'graphql';
import { executionInput } from '../../graphql/execution-input.ts';
import type { FailureLimit } from '../../auth/rate-limit.ts';
import type { GraphQLContext } from '../../context.ts';
import { recordDenial } from './audit.service.ts';

/** Denial audit rows per caller (realm and client id) and window: a flood cannot fill the table. */
export const DENIAL_AUDIT_LIMIT = { failures: 30, windowSeconds: 60 };

/**
 * Writes one `authorization.denied` audit row (outcome `denied`) for a request that scope-auth
 * or the mutation-scopes plugin refused with FORBIDDEN, or whose mutation a service refused
 * with FORBIDDEN_GRANT (named by the mutation field that ran it), in its own statement after execution,
 * at most `DENIAL_AUDIT_LIMIT` per caller and window. Requests without a valid token
 * (UNAUTHENTICATED) have no realm or actor and are not audited. A failed write is logged; the
 * answer stays the refusal.
 */
export function denialAuditPlugin(limit: FailureLimit): Plugin<GraphQLContext> {
  return {
    onExecute({ args }) {
      return {
        async onExecuteDone() {
          const ctx = args.contextValue;
          const service = ctx.service;
          if (!service || ctx.denials.length === 0) return;
          try {
            if (!(await limit.withinLimit(`${service.realmId}:${service.caller.id}`))) {
              ctx.log.debug('authorization denial not audited: the caller reached the denial audit limit');
              return;
            }
            const { document, operationName } = executionInput(args);
            const operation = getOperationAST(document, operationName);
            await recordDenial(service, operation?.operation ?? 'query', ctx.denials);
          } catch (error) {
            ctx.log.error({ err: error }, 'could not audit an authorization denial');
          }
        },
      };
    },
  };
}

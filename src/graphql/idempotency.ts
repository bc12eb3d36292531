import { createHash } from 'node:crypto';
import { getOperationAST, GraphQLError, OperationTypeNode, print, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../context.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { executionInput } from './execution-input.ts';
import { claimKey, deleteExpiredKeys, keepAnswer, releaseKey } from './idempotency.queries.ts';

const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How long a key's answer is kept: a retry within it gets the same answer. */
const TTL_SECONDS = 24 * 60 * 60;
/**
 * A key whose first request has not answered after this long was abandoned (its process
 * stopped): another request may take it. Longer than any mutation runs, a bulk one included.
 */
const STALE_SECONDS = 10 * 60;
const SWEEP_INTERVAL_MS = 60_000;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** A refusal of the key, with the HTTP status the IETF Idempotency-Key draft gives it. */
function refusal(message: string, code: string, status: number): ExecutionResult {
  return { errors: [new GraphQLError(message, { extensions: { code, http: { status } } })] };
}

/** JSON with object keys sorted, so that the same variables in another order are the same operation. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * `Idempotency-Key` for every mutation: the first request with a key (from one caller) runs and
 * its answer is kept for 24 hours; the same key with the same operation (document, operation
 * name and variables) gets that answer again, marked `Idempotent-Replayed: true`, without
 * running anything; with another operation it is refused (422 IDEMPOTENCY_KEY_REUSED), and
 * while the first request still runs, too (409 IDEMPOTENCY_KEY_IN_USE: retry later). An answer
 * without data, or with only nulls at its root (a refusal, a timeout), is not kept: the retry
 * runs again.
 * Queries ignore the header. Runs after the scope checks, so a refused request takes no key.
 *
 * `mask` is the server's error masking, applied to the errors of a kept answer (replays skip
 * the masking of execution). If the process stops between a mutation's commit and keeping its
 * answer, a retry after `STALE_SECONDS` runs the mutation again.
 */
export function idempotencyPlugin(
  prisma: PrismaClient,
  mask: (error: GraphQLError) => unknown,
): Plugin<GraphQLContext> {
  const replayed = new WeakSet<Request>();
  const sweeps = new Map<string, number>();
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as GraphQLContext & { request?: Request };
      const key = ctx.request?.headers.get(IDEMPOTENCY_HEADER);
      const service = ctx.service;
      if (key == null || !service || !ctx.request) return;
      const { document, operationName, variableValues } = executionInput(args);
      if (getOperationAST(document, operationName)?.operation !== OperationTypeNode.MUTATION) return;
      if (!KEY.test(key)) {
        setResultAndStopExecution(
          refusal('The Idempotency-Key header must be 1 to 255 visible ASCII characters.', 'BAD_USER_INPUT', 400),
        );
        return;
      }
      const fingerprint = createHash('sha256')
        .update(
          canonical({
            document: print(document),
            operationName: operationName ?? null,
            variables: variableValues ?? {},
          }),
        )
        .digest('base64url');
      const row = { caller: `${service.caller.kind}:${service.caller.id}`, key, fingerprint };
      const claim = await claimKey(prisma, service.realmId, {
        ...row,
        ttlSeconds: TTL_SECONDS,
        staleSeconds: STALE_SECONDS,
      });
      const last = sweeps.get(service.realmId) ?? 0;
      if (Date.now() - last >= SWEEP_INTERVAL_MS) {
        sweeps.set(service.realmId, Date.now());
        await deleteExpiredKeys(prisma, service.realmId);
      }
      if (!claim.claimed) {
        if (claim.fingerprint !== null && claim.fingerprint !== fingerprint) {
          setResultAndStopExecution(
            refusal(
              'This Idempotency-Key was used for another operation in the last 24 hours; use a new key.',
              'IDEMPOTENCY_KEY_REUSED',
              422,
            ),
          );
        } else if (claim.response !== null) {
          replayed.add(ctx.request);
          setResultAndStopExecution(claim.response as ExecutionResult);
        } else {
          setResultAndStopExecution(
            refusal(
              'A request with this Idempotency-Key is still running; retry once it has answered.',
              'IDEMPOTENCY_KEY_IN_USE',
              409,
            ),
          );
        }
        return;
      }
      return {
        async onExecuteDone({ result }) {
          const answer = result as ExecutionResult;
          try {
            // No data, or only nulls at the root: nothing ran to completion, so a retry may run.
            if (
              Symbol.asyncIterator in (result as object) ||
              answer.data == null ||
              Object.values(answer.data).every((value) => value === null)
            ) {
              await releaseKey(prisma, service.realmId, row);
              return;
            }
            const kept = answer.errors?.length ? { ...answer, errors: answer.errors.map(mask) } : answer;
            await keepAnswer(prisma, service.realmId, row, kept);
          } catch (error) {
            // The mutation's answer still goes out; the key stays taken until it is stale.
            ctx.log.error({ err: error }, 'could not keep the answer of an Idempotency-Key');
          }
        },
      };
    },
    onResponse({ request, response }) {
      if (replayed.has(request)) response.headers.set('idempotent-replayed', 'true');
    },
  };
}

import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { constantTimeEqual, sha256 } from './auth/crypto.ts';

/** Distinct values a label taken from a request (an operation name, an error code) may have; beyond, `(other)`. */
const MAX_LABEL_VALUES = 200;
const OTHER = '(other)';

/** Seconds: from a quick cached request to a slow export page. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A label value a caller chooses, kept to `MAX_LABEL_VALUES` distinct values so no client can grow the registry. */
class BoundedLabel {
  readonly #seen = new Set<string>();

  of(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= MAX_LABEL_VALUES || value.length > 100) return OTHER;
    this.#seen.add(value);
    return value;
  }
}

/** What `/metrics` reports about the database connections; absent for the embedded database. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * The server's Prometheus metrics, in a registry of its own (several servers in one process,
 * as in tests, do not mix): HTTP requests by route, GraphQL operations by name with their
 * duration and errors by code, token endpoint answers by grant and outcome, the database pool,
 * the cached OpenID providers, and Node's process metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #operations = new BoundedLabel();
  readonly #codes = new BoundedLabel();

  readonly #http = new Counter({
    name: 'roster_http_requests_total',
    help: 'HTTP requests answered, by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  readonly #httpDuration = new Histogram({
    name: 'roster_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route.',
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly #graphql = new Counter({
    name: 'roster_graphql_operations_total',
    help: 'GraphQL operations, by operation name ((anonymous) without one) and outcome (ok, or error when the result has errors).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly #graphqlDuration = new Histogram({
    name: 'roster_graphql_operation_duration_seconds',
    help: 'Time from parsing a GraphQL request to its result, by operation name.',
    labelNames: ['operation'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly #graphqlErrors = new Counter({
    name: 'roster_graphql_errors_total',
    help: 'Errors in GraphQL results, by extensions.code (UNKNOWN without one).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly #tokens = new Counter({
    name: 'roster_token_requests_total',
    help: 'Token endpoint answers, by grant type and outcome (issued, or the OAuth error code).',
    labelNames: ['grant_type', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(sources: { pool?: () => PoolStats | undefined; providers?: () => number } = {}) {
    collectDefaultMetrics({ register: this.registry });
    const { pool, providers } = sources;
    new Gauge({
      name: 'roster_db_pool_connections',
      help: 'PostgreSQL connections of the pool, by state (idle or busy); none for the embedded database.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = pool?.();
        if (!stats) return;
        this.set({ state: 'idle' }, stats.idleCount);
        this.set({ state: 'busy' }, stats.totalCount - stats.idleCount);
      },
    });
    new Gauge({
      name: 'roster_db_pool_waiting',
      help: 'Statements waiting for a PostgreSQL connection of the pool.',
      registers: [this.registry],
      collect() {
        const stats = pool?.();
        if (stats) this.set(stats.waitingCount);
      },
    });
    new Gauge({
      name: 'roster_oidc_providers_cached',
      help: "Realms' OpenID providers built and kept in memory.",
      registers: [this.registry],
      collect() {
        if (providers) this.set(providers());
      },
    });
  }

  /** One HTTP request answered; `route` is a template (`/oauth2/{realm}/token`), never a raw path. */
  httpAnswered(route: string, status: number, seconds: number): void {
    this.#http.inc({ route, status: String(status) });
    this.#httpDuration.observe({ route }, seconds);
  }

  /** One answer of the token endpoint. */
  tokenAnswered(grantType: string, outcome: string): void {
    this.#tokens.inc({ grant_type: grantType, outcome });
  }

  /** Counts every GraphQL request's operation, its duration and the codes of its errors. */
  graphqlPlugin(): Plugin {
    const started = new WeakMap<Request, { at: number; operation: string }>();
    return {
      onParams: ({ request, params }) => {
        const name = typeof params.operationName === 'string' && params.operationName ? params.operationName : null;
        started.set(request, {
          at: performance.now(),
          operation: name ? this.#operations.of(name) : '(anonymous)',
        });
      },
      onResultProcess: ({ request, result }) => {
        const start = started.get(request);
        if (!start) return;
        started.delete(request);
        const errors = Array.isArray(result) ? [] : ((result as ExecutionResult).errors ?? []);
        this.#graphql.inc({ operation: start.operation, outcome: errors.length ? 'error' : 'ok' });
        this.#graphqlDuration.observe({ operation: start.operation }, (performance.now() - start.at) / 1000);
        for (const error of errors) {
          const code = error.extensions?.code;
          this.#graphqlErrors.inc({ code: typeof code === 'string' ? this.#codes.of(code) : 'UNKNOWN' });
        }
      },
    };
  }

  /**
   * Answers `GET /metrics`: with a token configured (`ROSTER_METRICS_TOKEN`), to callers that
   * present it as a bearer token; without one, to callers on the loopback interface only (the
   * socket's address: a proxy in front of Roster does not count).
   */
  async respond(request: Request, socketAddress: string | undefined, token: string | undefined): Promise<Response> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { allow: 'GET, HEAD' } });
    }
    if (token) {
      const presented = /^Bearer (\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
      if (!presented || !constantTimeEqual(sha256(presented), sha256(token))) {
        return Response.json(
          {
            error: 'unauthorized',
            error_description: 'Present the metrics token (ROSTER_METRICS_TOKEN) as a bearer token.',
          },
          { status: 401, headers: { 'www-authenticate': 'Bearer realm="roster-metrics"' } },
        );
      }
    } else if (!isLoopback(socketAddress)) {
      return Response.json(
        {
          error: 'forbidden',
          error_description: 'Metrics are served to loopback callers only unless ROSTER_METRICS_TOKEN is set.',
        },
        { status: 403 },
      );
    }
    const body = await this.registry.metrics();
    return new Response(request.method === 'HEAD' ? null : body, {
      headers: { 'content-type': this.registry.contentType, 'cache-control': 'no-store' },
    });
  }
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

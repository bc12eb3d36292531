import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { consumePayload, refreshTokenRows, savePayloads, type OidcPayloadWrite } from './oidc.queries.ts';

/**
 * oidc-provider's `error_detail` for a rotated refresh token used again; a concurrent rotation
 * that lost the race fails the same way, and the sign-in pages end the session for both.
 */
export const REFRESH_TOKEN_REUSED = 'refresh token already used';

/** How often, at most, one realm's expired rows are deleted (on a write of that realm). */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The models whose saves a request defers to its end: a token grant saves its refresh token
 * and its access token one after the other, and they go to the database in one statement.
 */
const DEFERRED_MODELS = new Set(['AccessToken', 'RefreshToken']);

/**
 * Rows one request has read ahead, by `<model>:<id>` or `<model>:uid:<uid>` (undefined: none
 * found); each is used once, and a write of the request drops them all.
 */
export type ReadAhead = Map<string, AdapterPayload | undefined>;

/**
 * What one request through a provider keeps of its storage: the rows it read ahead, and the
 * saves it deferred. Deferred saves are written before the request's next statement of the
 * provider's storage, or by `flush` once the provider has answered: before the answer (and the
 * tokens in it) leaves Roster, so a token is never handed out unstored.
 */
export class RequestStorage {
  readonly readAhead: ReadAhead = new Map();
  readonly #deferred = new Map<string, { adapter: PrismaOidcAdapter; row: OidcPayloadWrite }>();

  defer(adapter: PrismaOidcAdapter, row: OidcPayloadWrite): void {
    this.#deferred.set(`${adapter.realmId}:${row.model}:${row.id}`, { adapter, row });
  }

  /** Writes the deferred saves, one statement per realm (a request only ever has one). */
  async flush(): Promise<void> {
    if (this.#deferred.size === 0) return;
    const byAdapter = new Map<string, { adapter: PrismaOidcAdapter; rows: OidcPayloadWrite[] }>();
    for (const { adapter, row } of this.#deferred.values()) {
      const group = byAdapter.get(adapter.realmId) ?? { adapter, rows: [] };
      group.rows.push(row);
      byAdapter.set(adapter.realmId, group);
    }
    this.#deferred.clear();
    for (const { adapter, rows } of byAdapter.values()) await adapter.write(rows);
  }
}

/**
 * oidc-provider's storage for one model of one realm, in table `OidcPayload`. Every statement
 * carries the realm, so a provider can only ever see its own realm's rows. Expired rows are
 * never returned; they are deleted, a realm at a time, on a later write of that realm.
 *
 * Within a request (`storage`, the current request's): a refresh grant reads the refresh token,
 * then its grant and the browser session it is bound to, so finding a refresh token reads those
 * two in the same statement and their finds that follow take them from there; and the tokens a
 * grant issues are saved together (see `RequestStorage`).
 */
export class PrismaOidcAdapter implements Adapter {
  constructor(
    private readonly prisma: PrismaClient,
    readonly realmId: string,
    private readonly model: string,
    private readonly sweeps: SweepClock,
    private readonly storage: () => RequestStorage | undefined = () => undefined,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const storage = this.storage();
    storage?.readAhead.clear();
    const row: OidcPayloadWrite = {
      model: this.model,
      id,
      payload,
      grantId: payload.grantId ?? null,
      userCode: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
    };
    if (storage && DEFERRED_MODELS.has(this.model)) storage.defer(this, row);
    else await this.write([row]);
  }

  /** Saves rows of this realm (any model), and now and then deletes the realm's expired rows. */
  async write(rows: OidcPayloadWrite[]): Promise<void> {
    await savePayloads(this.prisma, this.realmId, rows);
    if (this.sweeps.due()) {
      await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, expiresAt: { lte: new Date() } } });
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    await this.storage()?.flush();
    if (this.model === 'RefreshToken' && this.storage()) return this.findRefreshToken(id);
    return this.readAheadOr(`${this.model}:${id}`, () => this.findOne({ id }));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    await this.storage()?.flush();
    return this.readAheadOr(`${this.model}:uid:${uid}`, () => this.findOne({ uid }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    await this.storage()?.flush();
    return this.findOne({ userCode });
  }

  async consume(id: string): Promise<void> {
    await this.beforeWrite();
    const count = await consumePayload(this.prisma, this.realmId, this.model, id);
    // Two refreshes with one token both read it unconsumed; only one consumes it. The other is
    // a reuse like any other (the provider checks `consumed` only before this write).
    if (count === 0 && this.model === 'RefreshToken') throw new errors.InvalidGrant(REFRESH_TOKEN_REUSED);
  }

  async destroy(id: string): Promise<void> {
    await this.beforeWrite();
    await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, model: this.model, id } });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.beforeWrite();
    await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, model: this.model, grantId } });
  }

  /** The request's deferred saves go first, in order; what it read ahead may be stale after. */
  private async beforeWrite(): Promise<void> {
    const storage = this.storage();
    if (!storage) return;
    storage.readAhead.clear();
    await storage.flush();
  }

  private readAheadOr(key: string, find: () => Promise<AdapterPayload | undefined>) {
    const rows = this.storage()?.readAhead;
    if (!rows?.has(key)) return find();
    const row = rows.get(key);
    rows.delete(key);
    return Promise.resolve(row);
  }

  /** The refresh token, and ahead its grant and its browser session (see the class). */
  private async findRefreshToken(id: string): Promise<AdapterPayload | undefined> {
    const rows = await refreshTokenRows(this.prisma, this.realmId, id);
    const payloadOf = (model: string) => {
      const row = rows.find((one) => one.model === model);
      return row ? withConsumed(row.payload, row.consumedAt) : undefined;
    };
    const token = payloadOf('RefreshToken');
    const readAhead = this.storage()?.readAhead;
    if (token && readAhead) {
      if (typeof token.grantId === 'string') readAhead.set(`Grant:${token.grantId}`, payloadOf('Grant'));
      if (typeof token.sessionUid === 'string') readAhead.set(`Session:uid:${token.sessionUid}`, payloadOf('Session'));
    }
    return token;
  }

  private async findOne(where: { id: string } | { uid: string } | { userCode: string }) {
    const row = await this.prisma.oidcPayload.findFirst({
      where: {
        realmId: this.realmId,
        model: this.model,
        ...where,
        OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }],
      },
      select: { payload: true, consumedAt: true },
      ...('uid' in where ? { orderBy: { createdAt: 'desc' as const } } : {}),
    });
    return row ? withConsumed(row.payload as AdapterPayload, row.consumedAt) : undefined;
  }
}

function withConsumed(payload: AdapterPayload, consumedAt: Date | null): AdapterPayload {
  return consumedAt ? { ...payload, consumed: Math.floor(consumedAt.getTime() / 1000) } : payload;
}

/** When this process last deleted one realm's expired rows. */
export class SweepClock {
  #last = 0;

  due(): boolean {
    const now = Date.now();
    if (now - this.#last < SWEEP_INTERVAL_MS) return false;
    this.#last = now;
    return true;
  }
}

import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { refreshTokenRows } from './oidc.queries.ts';

/**
 * oidc-provider's `error_detail` for a rotated refresh token used again; a concurrent rotation
 * that lost the race fails the same way, and the sign-in pages end the session for both.
 */
export const REFRESH_TOKEN_REUSED = 'refresh token already used';

/** How often, at most, one realm's expired rows are deleted (on a write of that realm). */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Rows one request has read ahead, by `<model>:<id>` or `<model>:uid:<uid>` (undefined: none
 * found); each is used once, and a write of the request drops them all.
 */
export type ReadAhead = Map<string, AdapterPayload | undefined>;

/**
 * oidc-provider's storage for one model of one realm, in table `OidcPayload`. Every statement
 * carries the realm, so a provider can only ever see its own realm's rows. Expired rows are
 * never returned; they are deleted, a realm at a time, on a later write of that realm.
 *
 * A refresh grant reads the refresh token, then its grant and the browser session it is bound
 * to: with `readAhead` (the current request's), finding a refresh token reads those two in the
 * same statement, and their finds that follow take them from there.
 */
export class PrismaOidcAdapter implements Adapter {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly realmId: string,
    private readonly model: string,
    private readonly sweeps: SweepClock,
    private readonly readAhead: () => ReadAhead | undefined = () => undefined,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    this.readAhead()?.clear();
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    const columns = {
      payload: payload as Prisma.InputJsonValue,
      grantId: payload.grantId ?? null,
      userCode: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expiresAt,
    };
    await this.prisma.oidcPayload.upsert({
      where: { realmId_model_id: { realmId: this.realmId, model: this.model, id } },
      create: { realmId: this.realmId, model: this.model, id, ...columns },
      update: { ...columns, consumedAt: null },
    });
    if (this.sweeps.due()) {
      await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, expiresAt: { lte: new Date() } } });
    }
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'RefreshToken' && this.readAhead()) return this.findRefreshToken(id);
    return this.readAheadOr(`${this.model}:${id}`, () => this.findOne({ id }));
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.readAheadOr(`${this.model}:uid:${uid}`, () => this.findOne({ uid }));
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findOne({ userCode });
  }

  async consume(id: string): Promise<void> {
    this.readAhead()?.clear();
    const { count } = await this.prisma.oidcPayload.updateMany({
      where: { realmId: this.realmId, model: this.model, id, consumedAt: null },
      data: { consumedAt: new Date() },
    });
    // Two refreshes with one token both read it unconsumed; only one consumes it. The other is
    // a reuse like any other (the provider checks `consumed` only before this write).
    if (count === 0 && this.model === 'RefreshToken') throw new errors.InvalidGrant(REFRESH_TOKEN_REUSED);
  }

  async destroy(id: string): Promise<void> {
    this.readAhead()?.clear();
    await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, model: this.model, id } });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.readAhead()?.clear();
    await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, model: this.model, grantId } });
  }

  private readAheadOr(key: string, find: () => Promise<AdapterPayload | undefined>) {
    const rows = this.readAhead();
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
    const readAhead = this.readAhead();
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

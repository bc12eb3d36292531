import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';

/** How often, at most, one realm's expired rows are deleted (on a write of that realm). */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * oidc-provider's storage for one model of one realm, in table `OidcPayload`. Every statement
 * carries the realm, so a provider can only ever see its own realm's rows. Expired rows are
 * never returned; they are deleted, a realm at a time, on a later write of that realm.
 */
export class PrismaOidcAdapter implements Adapter {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly realmId: string,
    private readonly model: string,
    private readonly sweeps: SweepClock,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
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
    return this.findOne({ id });
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findOne({ uid });
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findOne({ userCode });
  }

  async consume(id: string): Promise<void> {
    await this.prisma.oidcPayload.updateMany({
      where: { realmId: this.realmId, model: this.model, id, consumedAt: null },
      data: { consumedAt: new Date() },
    });
  }

  async destroy(id: string): Promise<void> {
    await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, model: this.model, id } });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.prisma.oidcPayload.deleteMany({ where: { realmId: this.realmId, model: this.model, grantId } });
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
    if (!row) return undefined;
    const payload = row.payload as AdapterPayload;
    return row.consumedAt ? { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : payload;
  }
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

import { LRUCache } from 'lru-cache';
import type { PrismaClient, Realm } from '../../generated/prisma/client.ts';
import { VersionedCache, type GrantVersions } from '../../auth/grants-cache.ts';
import { findRealm } from './realm.service.ts';

/**
 * The realm rows the OAuth endpoints read on every request (by id or by name), kept by the
 * realm's grants version: `Realm` is a grant table (src/db/grant-changes.ts), so a change of its
 * settings in this process or, notified, in another one, and its deletion, reload the row. A
 * realm's id and name never change, so which id a name stands for is kept once read; an unknown
 * name is not kept.
 */
export class RealmCache {
  readonly #rows: VersionedCache<Realm>;
  readonly #ids: LRUCache<string, string>;

  constructor(
    private readonly prisma: PrismaClient,
    versions: GrantVersions,
    max = 10_000,
  ) {
    this.#rows = new VersionedCache(versions, max);
    this.#ids = new LRUCache({ max });
  }

  async find(idOrName: string): Promise<Realm | null> {
    const id = this.#ids.get(idOrName);
    return id === undefined ? this.#load(idOrName) : this.#rows.get(id, 'realm', () => this.#load(idOrName));
  }

  async #load(idOrName: string): Promise<Realm | null> {
    const realm = await findRealm(this.prisma, idOrName);
    if (realm) this.#ids.set(idOrName, realm.id);
    else this.#ids.delete(idOrName);
    return realm;
  }
}

import { LRUCache } from 'lru-cache';
import type { PrismaClient, Realm } from '../../generated/prisma/client.ts';
import type { GrantVersions } from '../../auth/grants-cache.ts';
import { findRealm } from './realm.service.ts';

interface Entry {
  version: number;
  realm: Realm;
}

/**
 * The realm rows the OAuth endpoints read on every request (by id or by name), kept while the
 * realm's grants version, with every change committed before the request known, is the one read
 * before the row: `Realm` is a grant table (src/db/grant-changes.ts), so a change of its
 * settings in this process or, notified, in another one, and its deletion, reload the row. A
 * realm's id and name never change, so which id a name stands for is kept once read; an unknown
 * name is not kept.
 */
export class RealmCache {
  readonly #rows: LRUCache<string, Entry>;
  readonly #ids: LRUCache<string, string>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly versions: GrantVersions,
    max = 10_000,
  ) {
    this.#rows = new LRUCache({ max });
    this.#ids = new LRUCache({ max });
  }

  async find(idOrName: string): Promise<Realm | null> {
    const id = this.#ids.get(idOrName);
    if (id === undefined) return this.#load(idOrName);
    // Read before loading: a change committed while loading leaves the entry behind its realm.
    const version = await this.versions.settled(id);
    const hit = this.#rows.get(id);
    if (version !== undefined && hit?.version === version) return hit.realm;
    const realm = await this.#load(idOrName);
    if (!realm || version === undefined || this.versions.version(id) !== version) this.#rows.delete(id);
    else this.#rows.set(id, { version, realm });
    return realm;
  }

  async #load(idOrName: string): Promise<Realm | null> {
    const realm = await findRealm(this.prisma, idOrName);
    if (realm) this.#ids.set(idOrName, realm.id);
    else this.#ids.delete(idOrName);
    return realm;
  }
}

import { LRUCache } from 'lru-cache';

/** Versions of the realms' grants (the database's `GrantChanges`, src/db/grant-changes.ts). */
export interface GrantVersions {
  /** The realm's grants version now; undefined when changes cannot be followed (nothing may be cached). */
  version(realmId: string): number | undefined;
  /** The realm's grants version once every change committed before the call is known. */
  settled(realmId: string): Promise<number | undefined>;
}

/** What a caller holds now; `until` bounds it in time (e.g. the session's end). */
export interface HeldGrants {
  scopes: string[];
  until?: Date | undefined;
}

interface Entry {
  version: number;
  scopes: string[];
  until: number;
}

/**
 * What callers currently hold (an application's scopes; a person's scopes while their session,
 * user and application are live), by caller. An entry is used only while its realm's grants
 * version, with every change committed before the request known, is still the one read before
 * the entry was loaded: any committed change of a grant in this process, or notified by another
 * one, changes the version, and the next request loads again. Refusals (null) are not kept.
 */
export class GrantsCache {
  readonly #cache: LRUCache<string, Entry>;

  constructor(
    private readonly versions: GrantVersions,
    max = 10_000,
  ) {
    this.#cache = new LRUCache({ max });
  }

  async held(realmId: string, caller: string, load: () => Promise<HeldGrants | null>): Promise<string[] | null> {
    const key = `${realmId}/${caller}`;
    // Read before loading: a change committed while loading leaves the entry behind its realm.
    const version = await this.versions.settled(realmId);
    const hit = this.#cache.get(key);
    if (version !== undefined && hit?.version === version && hit.until > Date.now()) return hit.scopes;
    const loaded = await load();
    if (!loaded || version === undefined || this.versions.version(realmId) !== version) {
      this.#cache.delete(key);
    } else {
      this.#cache.set(key, { version, scopes: loaded.scopes, until: loaded.until?.getTime() ?? Infinity });
    }
    return loaded?.scopes ?? null;
  }
}

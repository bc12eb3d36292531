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

interface Entry<T> {
  version: number;
  value: T;
  until: number;
}

/**
 * Values read from a realm's rows, each kept while the realm's grants version, with every change
 * committed before the request known, is still the one read before the value was loaded: any
 * committed change of a grant table in this process, or notified by another one, changes the
 * version, and the next request loads again. Refusals (null) are not kept.
 */
export class VersionedCache<T> {
  readonly #cache: LRUCache<string, Entry<T>>;

  constructor(
    private readonly versions: GrantVersions,
    max = 10_000,
  ) {
    this.#cache = new LRUCache({ max });
  }

  /** `until`: when a loaded value stops being valid by itself (epoch ms), e.g. its session's end. */
  async get(
    realmId: string,
    key: string,
    load: () => Promise<T | null>,
    until: (value: T) => number = () => Infinity,
  ): Promise<T | null> {
    const cacheKey = `${realmId}/${key}`;
    // Read before loading: a change committed while loading leaves the entry behind its realm.
    const version = await this.versions.settled(realmId);
    const hit = this.#cache.get(cacheKey);
    if (version !== undefined && hit?.version === version && hit.until > Date.now()) return hit.value;
    const loaded = await load();
    if (!loaded || version === undefined || this.versions.version(realmId) !== version) {
      this.#cache.delete(cacheKey);
    } else {
      this.#cache.set(cacheKey, { version, value: loaded, until: until(loaded) });
    }
    return loaded;
  }
}

/** What callers currently hold (an application's scopes; a person's scopes while their session, user and application are live), by caller. */
export class GrantsCache {
  readonly #held: VersionedCache<HeldGrants>;

  constructor(versions: GrantVersions, max = 10_000) {
    this.#held = new VersionedCache(versions, max);
  }

  async held(realmId: string, caller: string, load: () => Promise<HeldGrants | null>): Promise<string[] | null> {
    const held = await this.#held.get(realmId, caller, load, (loaded) => loaded.until?.getTime() ?? Infinity);
    return held?.scopes ?? null;
  }
}

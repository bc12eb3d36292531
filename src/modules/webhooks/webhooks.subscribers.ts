import type { KeptWebhookSubscriptions } from '../../context.ts';
import { VersionedCache, type GrantVersions } from '../../auth/grants-cache.ts';
import type { Subscriber, WebhookWriter } from './webhooks.fanout.ts';

/**
 * The enabled webhook endpoints of each realm, which every audit write needs, kept by the realm's
 * webhooks version (`GrantChanges.webhooks`, src/db/grant-changes.ts), so an endpoint
 * created, changed or deleted in this process or, notified, in another one is read again by the
 * next audit write. While other processes' changes cannot be followed, nothing is kept.
 */
export class WebhookSubscribers implements KeptWebhookSubscriptions {
  readonly #endpoints: VersionedCache<Subscriber[]>;

  constructor(versions: GrantVersions, max = 10_000) {
    this.#endpoints = new VersionedCache(versions, max);
  }

  /**
   * The realm's enabled endpoints subscribed to any of `actions`, read with `db` when not kept.
   * `db` must not have written an endpoint uncommitted (what it reads would be kept).
   */
  async of(db: WebhookWriter, realmId: string, actions: readonly string[]): Promise<Subscriber[]> {
    const endpoints = await this.#endpoints.get(realmId, 'webhook-endpoints', async () =>
      db.webhookEndpoint.findMany({
        where: { realmId, enabled: true },
        select: { id: true, url: true, eventTypes: true },
      }),
    );
    return (endpoints ?? []).filter((endpoint) => actions.some((action) => endpoint.eventTypes.includes(action)));
  }
}

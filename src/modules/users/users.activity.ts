import type { RealmTx } from '../../context.ts';

/** A `UserActivity` period: a quarter hour, of which every time zone's offset is a whole number. */
export const ACTIVITY_PERIOD_MS = 15 * 60 * 1000;

/** The start of the quarter hour (UTC) `at` falls in. */
export function activityPeriod(at: Date): Date {
  return new Date(Math.floor(at.getTime() / ACTIVITY_PERIOD_MS) * ACTIVITY_PERIOD_MS);
}

/** Notes that the user was active at `at` (a sign-in), in the caller's transaction; once per quarter hour. */
export async function noteUserActivity(tx: RealmTx, realmId: string, userId: string, at: Date): Promise<void> {
  await tx.userActivity.createMany({ data: [{ realmId, userId, period: activityPeriod(at) }], skipDuplicates: true });
}

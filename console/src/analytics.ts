import type { GrowthInterval } from './generated/graphql.ts';

const DAY_MS = 86_400_000;

/** The periods the Analytics screen offers, in days. */
export const PERIOD_DAYS = [7, 30, 90] as const;
export type PeriodDays = (typeof PERIOD_DAYS)[number];

export interface Range {
  from: string;
  to: string;
}

/**
 * The last `days` days up to the end of the current minute (a period not over yet, so users
 * created a moment ago count): within a minute the variables are the same, so re-rendering does
 * not query again.
 */
export function lastDays(days: number, now: Date): Range {
  const to = Math.ceil((now.getTime() + 1) / 60_000) * 60_000;
  return { from: new Date(to - days * DAY_MS).toISOString(), to: new Date(to).toISOString() };
}

/** How far back a growth chart of each interval reaches: the chosen period in days, else a fixed span. */
export const GROWTH_SPAN: Record<GrowthInterval, (periodDays: number) => { days: number; label: string }> = {
  DAY: (periodDays) => ({ days: periodDays, label: `the last ${periodDays} days, per day` }),
  WEEK: () => ({ days: 7 * 12, label: 'the last 12 weeks, per week' }),
  MONTH: () => ({ days: 365, label: 'the last 12 months, per month' }),
};

/** The time zone the browser runs in (the growth buckets follow its days, weeks and months). */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const counts = new Intl.NumberFormat('en');

export function formatCount(value: number): string {
  return counts.format(value);
}

/** A difference with its sign: "+12", "−3" (a true minus sign), "±0". */
export function formatChange(change: number): string {
  if (change === 0) return '±0';
  return `${change > 0 ? '+' : '−'}${counts.format(Math.abs(change))}`;
}

/** A relative change (0.25 is +25 %), whole percents from 10 % up; null (nothing to compare to) as "new". */
export function formatRelative(relative: number | null | undefined): string {
  if (relative === null || relative === undefined) return 'no earlier value';
  const percent = relative * 100;
  const rounded = Math.abs(percent) >= 10 ? Math.round(percent) : Math.round(percent * 10) / 10;
  if (rounded === 0) return '±0 %';
  return `${rounded > 0 ? '+' : '−'}${Math.abs(rounded)} %`;
}

/** A share (0 to 1) as a percentage with one decimal; null (no users) as "—". */
export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined) return '—';
  return `${Math.round(share * 1000) / 10} %`;
}

/** A change of a share in percentage points: 0.05 is "+5 pts". */
export function formatSharePoints(change: number | null | undefined): string {
  if (change === null || change === undefined) return 'no earlier value';
  const points = Math.round(change * 1000) / 10;
  if (points === 0) return '±0 pts';
  return `${points > 0 ? '+' : '−'}${Math.abs(points)} pts`;
}

/** The label of a bucket starting at `start`, in `timeZone`: "Mar 4" for days and weeks, "Mar 2026" for months. */
export function bucketLabel(start: string, interval: GrowthInterval, timeZone: string): string {
  const format = new Intl.DateTimeFormat(
    'en',
    interval === 'MONTH' ? { month: 'short', year: 'numeric', timeZone } : { month: 'short', day: 'numeric', timeZone },
  );
  return format.format(new Date(start));
}

/**
 * Round numbers for a chart's value axis: 0, a step of 1, 2 or 5 times a power of ten, up to at
 * least `max`, at most `ticks` + 1 lines.
 */
export function axisTicks(max: number, ticks = 4): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / ticks;
  const power = raw <= 1 ? 1 : 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw)!;
  const top = Math.ceil(max / step) * step;
  const values: number[] = [];
  for (let value = 0; value <= top; value += step) values.push(value);
  return values;
}

/** Rows of a breakdown largest first (ties by label), whatever order they arrived in. */
export function largestFirst<T extends { count: number; label: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
}

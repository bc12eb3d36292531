/** The Analytics screen's periods, number formats, chart axes and bar order. */
import { describe, expect, it } from 'vitest';
import {
  axisTicks,
  bucketLabel,
  formatChange,
  formatCount,
  formatRelative,
  formatShare,
  formatSharePoints,
  GROWTH_SPAN,
  largestFirst,
  lastDays,
} from '../../console/src/analytics.ts';

describe('lastDays', () => {
  it('ends after the current minute (so what happened just now counts) and starts the given number of days before', () => {
    const range = lastDays(7, new Date('2026-03-10T12:34:56.789Z'));
    expect(range).toEqual({ from: '2026-03-03T12:35:00.000Z', to: '2026-03-10T12:35:00.000Z' });
    expect(lastDays(1, new Date('2026-03-10T12:35:00.000Z')).to).toBe('2026-03-10T12:36:00.000Z');
  });

  it('gives the same range within a minute, so the query variables stay the same', () => {
    expect(lastDays(30, new Date('2026-03-10T12:34:00Z'))).toEqual(lastDays(30, new Date('2026-03-10T12:34:59Z')));
    expect(lastDays(30, new Date('2026-03-10T12:35:00Z'))).not.toEqual(lastDays(30, new Date('2026-03-10T12:34:59Z')));
  });

  it('stays within the API’s limits for every interval and period', () => {
    for (const days of [7, 30, 90]) {
      expect(GROWTH_SPAN.DAY(days).days).toBe(days);
      expect(GROWTH_SPAN.WEEK(days).days).toBeLessThanOrEqual(7 * 12);
      expect(GROWTH_SPAN.MONTH(days).days).toBeLessThanOrEqual(366);
    }
  });
});

describe('number formats', () => {
  it('groups thousands and signs changes with a true minus', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatChange(12)).toBe('+12');
    expect(formatChange(-1500)).toBe('−1,500');
    expect(formatChange(0)).toBe('±0');
  });

  it('gives relative changes in percent, one decimal below 10 %, and says when there is nothing to compare to', () => {
    expect(formatRelative(0.25)).toBe('+25 %');
    expect(formatRelative(-0.5)).toBe('−50 %');
    expect(formatRelative(0.0123)).toBe('+1.2 %');
    expect(formatRelative(0.00001)).toBe('±0 %');
    expect(formatRelative(2)).toBe('+200 %');
    expect(formatRelative(null)).toBe('no earlier value');
  });

  it('gives shares in percent and their changes in points', () => {
    expect(formatShare(0.4237)).toBe('42.4 %');
    expect(formatShare(1)).toBe('100 %');
    expect(formatShare(null)).toBe('—');
    expect(formatSharePoints(0.05)).toBe('+5 pts');
    expect(formatSharePoints(-0.125)).toBe('−12.5 pts');
    expect(formatSharePoints(0)).toBe('±0 pts');
    expect(formatSharePoints(null)).toBe('no earlier value');
  });
});

describe('bucketLabel', () => {
  it('names a bucket by its start in the time zone of the series', () => {
    // Local midnight in Berlin is still the day before in UTC.
    expect(bucketLabel('2026-03-28T23:00:00Z', 'DAY', 'Europe/Berlin')).toBe('Mar 29');
    expect(bucketLabel('2026-03-28T23:00:00Z', 'DAY', 'UTC')).toBe('Mar 28');
    expect(bucketLabel('2026-02-28T23:00:00Z', 'MONTH', 'Europe/Berlin')).toBe('Mar 2026');
  });
});

describe('axisTicks', () => {
  it('counts up in whole round steps to at least the largest value', () => {
    expect(axisTicks(0)).toEqual([0, 1]);
    expect(axisTicks(1)).toEqual([0, 1]);
    expect(axisTicks(3)).toEqual([0, 1, 2, 3]);
    expect(axisTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(axisTicks(95)).toEqual([0, 50, 100]);
    expect(axisTicks(1234)).toEqual([0, 500, 1000, 1500]);
  });
});

describe('largestFirst', () => {
  it('orders rows by count, ties by label', () => {
    const rows = [
      { label: 'b', count: 2 },
      { label: 'c', count: 5 },
      { label: 'a', count: 2 },
    ];
    expect(largestFirst(rows).map((row) => row.label)).toEqual(['c', 'a', 'b']);
    expect(rows.map((row) => row.label)).toEqual(['b', 'c', 'a']);
  });
});

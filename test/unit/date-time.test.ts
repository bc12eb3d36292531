import fc from 'fast-check';
import { isScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';

const dateTime = schema.getType('DateTime');
if (!isScalarType(dateTime)) throw new Error('DateTime is not a scalar');

// DateTime answers as a string (off JSON.stringify's slow path for Dates): the same bytes the Date
// it stood for would have been written as.
describe('DateTime', () => {
  it('serializes any date to the string JSON.stringify writes for it', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (date) => {
        const value = dateTime.serialize(date);
        expect(typeof value).toBe('string');
        expect(JSON.stringify(value)).toBe(JSON.stringify(date));
      }),
    );
  });

  it('writes years 0 to 9999 itself, to the millisecond, as toJSON does', () => {
    const min = new Date('0000-01-01T00:00:00.000Z');
    const max = new Date('9999-12-31T23:59:59.999Z');
    fc.assert(
      fc.property(fc.date({ min, max, noInvalidDate: true }), (date) => {
        expect(dateTime.serialize(date)).toBe(date.toJSON());
      }),
      { numRuns: 2000 },
    );
    for (const text of [
      '0000-01-01T00:00:00.000Z',
      '0999-12-31T23:59:59.999Z',
      '1000-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '+010000-01-01T00:00:00.000Z',
      '-000001-12-31T23:59:59.999Z',
      '2024-02-29T05:06:07.089Z',
    ]) {
      expect(dateTime.serialize(new Date(text))).toBe(text);
    }
  });

  it('serializes a date-time string and a timestamp as their Date would be written', () => {
    expect(dateTime.serialize('2026-03-01T11:00:00.5+01:00')).toBe('2026-03-01T10:00:00.500Z');
    expect(dateTime.serialize(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(() => dateTime.serialize(new Date(Number.NaN))).toThrow('invalid Date');
    expect(() => dateTime.serialize('yesterday')).toThrow('invalid date-time-string');
  });
});

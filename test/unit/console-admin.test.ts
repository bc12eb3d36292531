/** Where the Applications and Roles screens put a mutation's userErrors. */
import { describe, expect, it } from 'vitest';
import { errorsAt } from '../../console/src/input-errors.ts';

const errors = [
  { field: ['input', 'name'], message: 'Too long.', code: 'TOO_LONG' },
  { field: ['input', 'redirectUris', '1'], message: 'Must use https.', code: 'INVALID' },
  { field: ['input', 'redirectUris'], message: 'At most 20.', code: 'LIMIT_EXCEEDED' },
  { field: ['input', 'id'], message: 'Not found.', code: 'NOT_FOUND' },
  { field: null, message: 'Something else.', code: 'INVALID_STATE' },
];

describe('errorsAt', () => {
  it('gives a field the errors naming it at any depth, and the form the errors naming none of its fields', () => {
    expect(errorsAt(errors, 'name').map((error) => error.message)).toEqual(['Too long.']);
    expect(errorsAt(errors, 'redirectUris').map((error) => error.message)).toEqual(['Must use https.', 'At most 20.']);
    expect(errorsAt(errors, 'type')).toEqual([]);
    expect(errorsAt(errors, null, ['name', 'redirectUris']).map((error) => error.code)).toEqual([
      'NOT_FOUND',
      'INVALID_STATE',
    ]);
    expect(errorsAt([], null, ['name'])).toEqual([]);
  });

  it('names the line of a list item, by the line it was entered on', () => {
    // Blank lines are not sent: item 1 was on line 4.
    const lines = [1, 4];
    expect(errorsAt(errors, 'redirectUris', [], (index) => lines[index]).map((error) => error.message)).toEqual([
      'Line 4: Must use https.',
      'At most 20.',
    ]);
    // An index the form did not send (or a segment that is no index) leaves the message as it is.
    expect(errorsAt(errors, 'redirectUris', [], () => undefined)[0]!.message).toBe('Must use https.');
    expect(errorsAt(errors, 'name', [], () => 9)[0]!.message).toBe('Too long.');
  });
});

/**
 * The console's logic that is not drawing: the state of its filter panels (Users, Audit log),
 * where userErrors go, and the profile form's patch and rebase after a conflict.
 */
import { describe, expect, it } from 'vitest';
import {
  auditFilterFieldOf,
  auditFilterOf,
  auditFiltersFromParams,
  instantOfLocalInput,
  localInputOf,
  NO_AUDIT_FILTERS,
  paramsOfAuditFilters,
} from '../../console/src/audit-filters.ts';
import { EMPTY_FILTERS, filtersFromParams, paramsOfFilters, userFilterOf } from '../../console/src/filters.ts';
import { profilePatch, profileValuesOf, rebaseProfile } from '../../console/src/profile-draft.ts';
import { errorsFor, invalidValues } from '../../console/src/user-errors.ts';

describe('the Users screen’s filters', () => {
  it('turn into the API’s UserFilter, leaving out what is not set', () => {
    expect(userFilterOf(EMPTY_FILTERS)).toEqual({});
    expect(
      userFilterOf({
        search: '  grace hoper ',
        statuses: ['ACTIVE', 'SUSPENDED'],
        roleId: 'Um9sZTox',
        emailVerified: 'no',
        hasMfa: 'yes',
        sort: 'name',
      }),
    ).toEqual({
      search: 'grace hoper',
      statuses: ['ACTIVE', 'SUSPENDED'],
      roleIds: ['Um9sZTox'],
      emailVerified: false,
      hasMfa: true,
    });
  });

  it('leave the statuses out for the status counts, which follow the other filters', () => {
    expect(userFilterOf({ ...EMPTY_FILTERS, search: 'ada', statuses: ['ACTIVE'] }, false)).toEqual({ search: 'ada' });
  });

  it('round-trip through the query string, which names only what differs from the defaults', () => {
    const filters = {
      search: 'ada',
      statuses: ['INVITED' as const],
      roleId: 'r1',
      emailVerified: 'yes' as const,
      hasMfa: '' as const,
      sort: 'email',
    };
    const params = paramsOfFilters(filters);
    expect(params.toString()).toBe('q=ada&status=INVITED&role=r1&verified=yes&sort=email');
    expect(filtersFromParams(params)).toEqual(filters);
    expect(paramsOfFilters(EMPTY_FILTERS).toString()).toBe('');
  });

  it('ignore values of the query string they do not know', () => {
    expect(
      filtersFromParams(new URLSearchParams('status=ACTIVE,BANNED,ACTIVE&verified=maybe&mfa=no&sort=random')),
    ).toEqual({
      ...EMPTY_FILTERS,
      statuses: ['ACTIVE'],
      hasMfa: 'no',
    });
  });
});

describe('userErrors beside their fields', () => {
  const errors = [
    { field: ['input', 'reason'], message: 'Too long.', code: 'INVALID' },
    { field: ['input', 'id'], message: 'No such user.', code: 'NOT_FOUND' },
    { field: null, message: 'Not now.', code: 'INVALID_STATE' },
  ];

  it('go next to the field their path ends with', () => {
    expect(errorsFor(errors, 'reason').map((e) => e.message)).toEqual(['Too long.']);
    expect(errorsFor(errors, 'name')).toEqual([]);
  });

  it('go above the form when they name no field of it', () => {
    expect(errorsFor(errors, null, ['reason']).map((e) => e.message)).toEqual(['No such user.', 'Not now.']);
  });
});

describe('the profile form', () => {
  const base = profileValuesOf({ name: 'Alan Turing', email: 'alan@example.com', nickname: null, emailVerified: true });

  it('sends only the fields the administrator changed, trimmed; an emptied field is cleared', () => {
    expect(profilePatch(base, base)).toEqual({});
    expect(profilePatch(base, { ...base, name: '  Alan M. Turing ', nickname: 'Prof', email: '' })).toEqual({
      name: 'Alan M. Turing',
      nickname: 'Prof',
      email: null,
    });
    expect(profilePatch(base, { ...base, emailVerified: false })).toEqual({ emailVerified: false });
  });

  it('keeps the administrator’s edits over a newer version, and the other change where they edited nothing', () => {
    const draft = { ...base, nickname: 'Prof', name: 'Alan M. Turing' };
    const current = { ...base, name: 'Alan Mathison Turing', email: 'turing@example.com', emailVerified: false };
    const rebased = rebaseProfile(base, draft, current);
    expect(rebased).toEqual({ ...current, nickname: 'Prof', name: 'Alan M. Turing' });
    // Saved over the current version, the patch carries the administrator's edits only.
    expect(profilePatch(current, rebased)).toEqual({ nickname: 'Prof', name: 'Alan M. Turing' });
  });
});

describe('values the API’s scalars refuse', () => {
  it('become errors of the field at the variable’s path; other errors are left alone', () => {
    const errors = [
      { message: 'Variable "$patch" got invalid value "ZZ" at "patch.country"; Value is not a valid country code: ZZ' },
      { message: 'Variable "$id" got invalid value 1; ID cannot represent value: 1' },
      { message: 'Unexpected error.' },
    ];
    expect(invalidValues(errors, 'patch')).toEqual([
      { field: ['input', 'patch', 'country'], message: 'Value is not a valid country code: ZZ', code: 'INVALID' },
    ]);
    expect(errorsFor(invalidValues(errors, 'patch'), 'country')).toHaveLength(1);
    expect(invalidValues(errors, 'input')).toEqual([]);
  });
});

describe('the Audit log’s filters', () => {
  it('keep what is set in the address, and read it back; unreadable times are left out', () => {
    const filters = {
      action: 'user.*',
      actor: 'RHZAUTHHd0QQ0Yp1FoWIzw',
      target: 'VXNlcjox',
      from: '2026-12-03T14:00:00.000Z',
      to: '',
    };
    const params = paramsOfAuditFilters(filters);
    expect(params.toString()).toBe(
      'action=user.*&actor=RHZAUTHHd0QQ0Yp1FoWIzw&target=VXNlcjox&from=2026-12-03T14%3A00%3A00.000Z',
    );
    expect(auditFiltersFromParams(params)).toEqual(filters);
    expect(
      auditFiltersFromParams(new URLSearchParams('from=yesterday&to=2026-12-03T15:00:00Z&actor=+system+')),
    ).toEqual({ ...NO_AUDIT_FILTERS, actor: 'system', to: '2026-12-03T15:00:00.000Z' });
    expect(paramsOfAuditFilters(NO_AUDIT_FILTERS).toString()).toBe('');
  });

  it('turn into the API’s AuditEventFilter, leaving out what is not set', () => {
    expect(auditFilterOf(NO_AUDIT_FILTERS)).toEqual({});
    expect(
      auditFilterOf({
        action: ' role.created ',
        actor: 'system',
        target: '',
        from: '',
        to: '2026-12-03T15:00:00.000Z',
      }),
    ).toEqual({ actions: ['role.created'], actorId: 'system', before: '2026-12-03T15:00:00.000Z' });
  });

  it('show times in the browser’s time zone to the minute, and read them back as instants', () => {
    const local = localInputOf('2026-12-03T14:05:00.000Z');
    expect(local).toMatch(/^2026-12-0[34]T\d\d:\d5$/);
    expect(instantOfLocalInput(local)).toBe('2026-12-03T14:05:00.000Z');
    expect(localInputOf('')).toBe('');
    expect(instantOfLocalInput('')).toBe('');
  });

  it('name the form field of each refused filter argument', () => {
    expect(
      ['filter.actions', 'filter.actorId', 'filter.targetId', 'filter.after', 'filter.before', 'filter', undefined].map(
        auditFilterFieldOf,
      ),
    ).toEqual(['action', 'actor', 'target', 'from', 'to', null, null]);
  });
});

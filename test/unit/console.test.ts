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
import {
  conditionOfForm,
  describeCondition,
  EMPTY_FILTERS,
  filtersFromParams,
  moreFiltersSet,
  paramsOfFilters,
  userFilterOf,
} from '../../console/src/filters.ts';
import {
  BULK_LIMIT,
  bulkActionReason,
  bulkInputOf,
  DEFAULT_EXPORT_COLUMNS,
  describeCounts,
  EXPORT_COLUMNS,
  exportFieldsOf,
  exportFileName,
  NO_ARGUMENTS,
  pageState,
  selectAllReason,
  toggle,
} from '../../console/src/bulk.ts';
import { BULK_LIMITS } from '../../src/modules/users/users.bulk.ts';
import { DEFAULT_FIELDS, EXPORTABLE_FIELDS } from '../../src/modules/users/users.export.ts';
import { profilePatch, profileValuesOf, rebaseProfile } from '../../console/src/profile-draft.ts';
import { errorsFor, invalidValues } from '../../console/src/user-errors.ts';

describe('the Users screen’s filters', () => {
  it('turn into the API’s UserFilter, leaving out what is not set', () => {
    expect(userFilterOf(EMPTY_FILTERS)).toEqual({});
    expect(
      userFilterOf({
        ...EMPTY_FILTERS,
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

  it('turn every facet of the panel into its UserFilter field', () => {
    expect(
      userFilterOf({
        ...EMPTY_FILTERS,
        tenantIds: ['VGVuYW50OjE='],
        authMethods: ['PASSKEY'],
        mfaTypes: ['TOTP', 'WEBAUTHN'],
        oauthProviders: ['google'],
        countries: ['DE'],
        locales: ['de-DE'],
        phoneVerified: 'yes',
        hasPassword: 'no',
        isLocked: 'yes',
        neverLoggedIn: 'no',
        createdInLastDays: '30',
        inactiveForDays: '90',
      }),
    ).toEqual({
      tenantIds: ['VGVuYW50OjE='],
      authMethods: ['PASSKEY'],
      mfaTypes: ['TOTP', 'WEBAUTHN'],
      oauthProviders: ['google'],
      countries: ['DE'],
      locales: ['de-DE'],
      phoneVerified: true,
      hasPassword: false,
      isLocked: true,
      neverLoggedIn: false,
      createdInLastDays: 30,
      inactiveForDays: 90,
    });
  });

  it('leave a list facet out for its own counts, which follow the other filters', () => {
    const filters = { ...EMPTY_FILTERS, search: 'ada', statuses: ['ACTIVE' as const], countries: ['FR'] };
    expect(userFilterOf(filters, 'statuses')).toEqual({ search: 'ada', countries: ['FR'] });
    expect(userFilterOf(filters, 'countries')).toEqual({ search: 'ada', statuses: ['ACTIVE'] });
  });

  it('round-trip through the query string, which names only what differs from the defaults', () => {
    const filters = {
      ...EMPTY_FILTERS,
      search: 'ada',
      statuses: ['INVITED' as const],
      roleId: 'r1',
      mfaTypes: ['TOTP' as const],
      countries: ['DE', 'FR'],
      emailVerified: 'yes' as const,
      isLocked: 'no' as const,
      createdInLastDays: '7',
      sort: 'email',
    };
    const params = paramsOfFilters(filters);
    expect(params.toString()).toBe(
      'q=ada&status=INVITED&factor=TOTP&country=DE%2CFR&role=r1&verified=yes&locked=no&created-within=7&sort=email',
    );
    expect(filtersFromParams(params)).toEqual(filters);
    expect(paramsOfFilters(EMPTY_FILTERS).toString()).toBe('');
  });

  it('ignore values of the query string they do not know', () => {
    expect(
      filtersFromParams(
        new URLSearchParams(
          'status=ACTIVE,BANNED,ACTIVE&verified=maybe&mfa=no&sort=random&method=PASSKEY,SMOKE&created-within=2&locked=yes',
        ),
      ),
    ).toEqual({
      ...EMPTY_FILTERS,
      statuses: ['ACTIVE'],
      authMethods: ['PASSKEY'],
      hasMfa: 'no',
      isLocked: 'yes',
    });
  });
});

describe('the Users screen’s further filters', () => {
  const day = (year: number, month: number, date: number) => new Date(year, month - 1, date).toISOString();

  it('turn into the API’s UserFilter: whole days in the browser’s time zone, both ends included', () => {
    expect(
      userFilterOf({
        ...EMPTY_FILTERS,
        regions: ['Bavaria'],
        cities: ['Munich'],
        timezones: ['Europe/Berlin'],
        genders: ['female'],
        applicationIds: ['QXBwbGljYXRpb246MQ=='],
        hasOAuth: 'yes',
        profileComplete: 'no',
        hasPicture: 'yes',
        hasBio: 'no',
        hasLocation: 'yes',
        activeInLastDays: '7',
        createdFrom: '2026-02-28',
        createdTo: '2026-03-01',
        signedInFrom: '2026-12-31',
        signedInTo: '2026-12-31',
        ageMin: '30',
        ageMax: '40',
        failedMin: '3',
        failedMax: '9',
        attributes: [
          { key: 'plan', op: 'equals', value: 'pro' },
          { key: 'seats', op: 'gte', value: 10 },
          { key: 'beta', op: 'exists', value: false },
        ],
        includeDeleted: true,
      }),
    ).toEqual({
      regions: ['Bavaria'],
      cities: ['Munich'],
      timezones: ['Europe/Berlin'],
      genders: ['female'],
      applicationIds: ['QXBwbGljYXRpb246MQ=='],
      hasOAuth: true,
      profileComplete: false,
      hasPicture: true,
      hasBio: false,
      hasLocation: true,
      activeInLastDays: 7,
      createdAfter: day(2026, 2, 28),
      createdBefore: day(2026, 3, 2),
      lastLoginAfter: day(2026, 12, 31),
      lastLoginBefore: day(2027, 1, 1),
      ageMin: 30,
      ageMax: 40,
      failedLoginAttemptsMin: 3,
      failedLoginAttemptsMax: 9,
      customAttributes: [
        { key: 'plan', equals: 'pro' },
        { key: 'seats', gte: 10 },
        { key: 'beta', exists: false },
      ],
      includeDeleted: true,
    });
  });

  it('round-trip through the query string, attribute conditions typed', () => {
    const filters = {
      ...EMPTY_FILTERS,
      cities: ['Munich', 'Köln'],
      hasOAuth: 'no' as const,
      activeInLastDays: '30',
      createdFrom: '2026-01-01',
      ageMax: '65',
      attributes: [
        { key: 'plan', op: 'equals' as const, value: 'pro.plus' },
        { key: 'seats', op: 'lte' as const, value: 2.5 },
        { key: 'vip', op: 'equals' as const, value: true },
      ],
      includeDeleted: true,
    };
    const params = paramsOfFilters(filters);
    expect(params.getAll('attr')).toEqual(['plan.equals."pro.plus"', 'seats.lte.2.5', 'vip.equals.true']);
    expect(params.get('deleted')).toBe('include');
    expect(filtersFromParams(new URLSearchParams(params.toString()))).toEqual(filters);
  });

  it('ignore values of the query string they cannot take', () => {
    expect(
      filtersFromParams(
        new URLSearchParams(
          [
            'created-from=2026-02-30',
            'created-to=yesterday',
            'signed-in-from=2026-02-28',
            'age-min=-3',
            'age-max=1e3',
            'failed-min=007',
            'active-within=3',
            'deleted=yes',
            'attr=plan.equals."pro"',
            'attr=1plan.equals."pro"',
            'attr=plan.drop."pro"',
            'attr=plan.contains.3',
            'attr=plan.exists."yes"',
            'attr=plan.gte.true',
            'attr=plan.equals.{"a":1}',
            'attr=plan.equals.not-json',
          ].join('&'),
        ),
      ),
    ).toEqual({
      ...EMPTY_FILTERS,
      signedInFrom: '2026-02-28',
      failedMin: '7',
      attributes: [{ key: 'plan', op: 'equals', value: 'pro' }],
    });
  });

  it('type an attribute condition as its attribute is, and say why one cannot be added', () => {
    const seats = { key: 'seats', displayName: 'Seats', type: 'NUMBER' as const };
    const renewal = { key: 'renewal', displayName: 'Renewal', type: 'DATE' as const };
    const vip = { key: 'vip', displayName: 'VIP', type: 'BOOLEAN' as const };
    expect(conditionOfForm(seats, 'gte', ' 12 ')).toEqual({ key: 'seats', op: 'gte', value: 12 });
    expect(conditionOfForm(seats, 'gte', '')).toEqual({ error: 'Enter a value.' });
    expect(conditionOfForm(seats, 'equals', 'twelve')).toEqual({ error: 'Enter a number.' });
    expect(conditionOfForm(seats, 'exists', 'false')).toEqual({ key: 'seats', op: 'exists', value: false });
    expect(conditionOfForm(renewal, 'lte', '2026-13-01')).toEqual({ error: 'Enter a date.' });
    expect(conditionOfForm(renewal, 'lte', '2026-12-01')).toEqual({ key: 'renewal', op: 'lte', value: '2026-12-01' });
    expect(conditionOfForm(vip, 'equals', 'true')).toEqual({ key: 'vip', op: 'equals', value: true });
    expect(describeCondition({ key: 'seats', op: 'gte', value: 12 }, seats)).toBe('Seats is at least 12');
    expect(describeCondition({ key: 'vip', op: 'equals', value: false }, vip)).toBe('VIP is no');
    expect(describeCondition({ key: 'gone', op: 'exists', value: true }, undefined)).toBe('gone is set');
  });

  it('count the further filters set, for the closed section', () => {
    expect(moreFiltersSet(EMPTY_FILTERS)).toBe(0);
    expect(
      moreFiltersSet({
        ...EMPTY_FILTERS,
        statuses: ['ACTIVE'],
        cities: ['Munich', 'Berlin'],
        ageMin: '30',
        attributes: [{ key: 'plan', op: 'equals', value: 'pro' }],
        includeDeleted: true,
      }),
    ).toBe(4);
  });
});

describe('the Users screen’s bulk actions and export', () => {
  it('offer "select all matching" up to the API’s limit, and say why not beyond it', () => {
    expect(BULK_LIMIT).toBe(BULK_LIMITS.users);
    expect(selectAllReason(BULK_LIMITS.users)).toBeNull();
    expect(selectAllReason(BULK_LIMITS.users + 1)).toBe(
      '10,001 users match: a bulk action takes at most 10,000. Narrow the filter.',
    );
  });

  it('tick rows and pages, and tell the header checkbox whether the page is all, partly or not ticked', () => {
    expect(toggle(['a'], ['b', 'a', 'c'], true)).toEqual(['a', 'b', 'c']);
    expect(toggle(['a', 'b', 'c'], ['b'], false)).toEqual(['a', 'c']);
    expect(pageState(['a', 'b'], ['a', 'b'])).toBe('all');
    expect(pageState(['a', 'z'], ['a', 'b'])).toBe('some');
    expect(pageState(['z'], ['a', 'b'])).toBe('none');
  });

  it('disable the actions the scopes do not allow, naming every missing scope', () => {
    expect(bulkActionReason('SUSPEND', new Set(['users:write']))).toBeNull();
    expect(bulkActionReason('ASSIGN_ROLES', new Set(['users:write', 'roles:read']))).toBe(
      'Needs the users:roles scope, which your roles do not grant.',
    );
    // The console lists the roles or tenants to choose from: without reading them, nothing to choose.
    expect(bulkActionReason('REMOVE_ROLES', new Set(['users:roles']))).toBe(
      'Needs the roles:read scope, which your roles do not grant.',
    );
    expect(bulkActionReason('ADD_TO_TENANT', new Set(['users:read', 'tenants:read']))).toBe(
      'Needs the users:write and tenants:write scopes, which your roles do not grant.',
    );
  });

  it('send ids or the filter, with only the arguments the action takes', () => {
    const args = { reason: ' spam wave ', status: 'ACTIVE' as const, roleIds: ['r1'], tenantId: 't1' };
    expect(bulkInputOf({ kind: 'ids', ids: ['u1', 'u2'] }, 'SUSPEND', args, true)).toEqual({
      ids: ['u1', 'u2'],
      action: 'SUSPEND',
      dryRun: true,
      reason: 'spam wave',
    });
    expect(bulkInputOf({ kind: 'filter', filter: { search: 'x' }, count: 3 }, 'ASSIGN_ROLES', args, false)).toEqual({
      filter: { search: 'x' },
      action: 'ASSIGN_ROLES',
      dryRun: false,
      roleIds: ['r1'],
      tenantId: 't1',
    });
    expect(bulkInputOf({ kind: 'ids', ids: ['u1'] }, 'REVOKE_SESSIONS', args, true)).toEqual({
      ids: ['u1'],
      action: 'REVOKE_SESSIONS',
      dryRun: true,
    });
    // A missing required argument is sent missing: the API names it (REQUIRED) beside its field.
    expect(bulkInputOf({ kind: 'ids', ids: ['u1'] }, 'ADD_TO_TENANT', NO_ARGUMENTS, true)).toEqual({
      ids: ['u1'],
      action: 'ADD_TO_TENANT',
      dryRun: true,
    });
  });

  it('put a dry run’s and a run’s counts in words', () => {
    const result = {
      matchedCount: 4,
      changedCount: 2,
      skippedCount: 1,
      failedCount: 1,
      skipped: [{ reason: 'ALREADY_SUSPENDED' as const, count: 1 }],
      failed: [{ message: 'Not allowed.', count: 1 }],
    };
    expect(describeCounts(result, true)).toEqual([
      '4 users selected.',
      '2 users would be changed.',
      '1 user would be skipped: 1 already suspended.',
      '1 user would fail: 1: Not allowed.',
    ]);
    expect(
      describeCounts({ ...result, skippedCount: 0, failedCount: 0, changedCount: 1, skipped: [], failed: [] }, false),
    ).toEqual(['4 users selected.', '1 user was changed.', '0 users were skipped.', '0 users failed.']);
  });

  it('name the file as Roster does, or after the realm', () => {
    expect(exportFileName('attachment; filename="users-default-2026-12-03.csv"', 'default', 'csv')).toBe(
      'users-default-2026-12-03.csv',
    );
    expect(exportFileName(null, 'acme', 'ndjson')).toBe('users-acme.ndjson');
    expect(exportFileName('attachment; filename="../evil"', 'acme', 'csv')).toBe('users-acme.csv');
  });
});

describe('the export’s columns', () => {
  it('are the API’s exportable fields, and the usual ones its default', () => {
    expect(EXPORT_COLUMNS.map((column) => column.field)).toEqual([...EXPORTABLE_FIELDS, 'customAttributes']);
    expect([...DEFAULT_EXPORT_COLUMNS].sort()).toEqual([...DEFAULT_FIELDS, 'customAttributes'].sort());
  });

  it('are sent only when they differ from the default, in the list’s order', () => {
    expect(exportFieldsOf(new Set(DEFAULT_EXPORT_COLUMNS))).toBeNull();
    expect(exportFieldsOf(new Set(['country', 'email', 'customAttributes']))).toEqual([
      'email',
      'country',
      'customAttributes',
    ]);
    expect(exportFieldsOf(new Set([...DEFAULT_EXPORT_COLUMNS].filter((field) => field !== 'id')))).not.toContain('id');
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

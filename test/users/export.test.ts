/**
 * `GET|POST /export/{realm}/users`: every user a filter selects, streamed as RFC 4180 CSV or
 * NDJSON, for a token holding users:export; audited, never with the data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { exportUserLines, type FormattedColumn } from '../../src/modules/users/users.export.queries.ts';
import { graphql } from '../helpers/documents.ts';
import { makeUser } from '../helpers/fixtures.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';

let server: TestServer;
let exporter: string;
let other: Credentials;

/** RFC 4180: quoted cells may hold commas, quotes (doubled) and line breaks; lines end in CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && c === '"') {
      quoted = false;
    } else if (quoted) {
      cell += c;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  expect(cell, 'the last line ends in CRLF').toBe('');
  return rows;
}

/** A custom attribute value of about 100 KB of UTF-8, longer than a chunk of the body. */
const WIDE_PLAN = 'é€🦊'.repeat(12_000);

const exportUrl = (query = '', realm = 'default') => `${server.url}/export/${realm}/users${query ? `?${query}` : ''}`;
const get = (query = '', token: string | null = exporter, realm = 'default') =>
  fetch(exportUrl(query, realm), token ? { headers: { authorization: `Bearer ${token}` } } : {});

beforeAll(async () => {
  server = await startTestServer();
  const realmId = server.admin.realmId;
  await server.db.prisma.customAttributeDefinition.create({
    data: { realmId, key: 'plan', displayName: 'Plan', type: 'STRING' },
  });
  await makeUser(server, realmId, {
    email: 'ada@example.com',
    name: 'Lovelace, "Ada"\nCountess',
    status: 'ACTIVE',
    emailVerified: true,
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
    customAttributes: { plan: 'pro' },
  });
  await makeUser(server, realmId, {
    email: 'mallory@example.com',
    name: '=HYPERLINK("http://evil")',
    status: 'SUSPENDED',
  });
  await makeUser(server, realmId, { email: 'plus@example.com', name: '+1 tab', username: '\tcmd', status: 'ACTIVE' });
  // Multi-byte text across chunk boundaries, and one row longer than a chunk of the body.
  await makeUser(server, realmId, {
    email: 'wide@example.com',
    name: 'Zoë 🦊 日本語',
    status: 'PENDING_VERIFICATION',
    customAttributes: { plan: WIDE_PLAN },
  });
  for (let i = 0; i < 2_500; i++) {
    await server.db.prisma.user.create({ data: { realmId, email: `bulk-${i}@example.com`, status: 'INACTIVE' } });
  }
  exporter = await server.token(server.admin, 'users:export');
  other = await server.createRealm('export-other');
}, 300_000);

afterAll(async () => {
  await server?.close();
});

describe('CSV', () => {
  it('streams every user by id with a header row, ISO times, custom attributes as columns, quoting as RFC 4180 says', async () => {
    const response = await get();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="users-default-\d{4}-\d\d-\d\d\.csv"$/,
    );
    const rows = parseCsv(await response.text());
    expect(rows[0]).toEqual([
      'id',
      'email',
      'username',
      'name',
      'status',
      'emailVerified',
      'createdAt',
      'lastLoginAt',
      'customAttributes.plan',
    ]);
    expect(rows).toHaveLength(1 + 2_504);
    const wide = rows.find((row) => row[1] === 'wide@example.com')!;
    expect([wide[3], wide.at(-1)]).toEqual(['Zoë 🦊 日本語', WIDE_PLAN]);
    const ada = rows.find((row) => row[1] === 'ada@example.com')!;
    expect(ada.slice(3)).toEqual([
      'Lovelace, "Ada"\nCountess',
      'ACTIVE',
      'true',
      '2026-01-02T03:04:05.678Z',
      '',
      'pro',
    ]);
    const ids = rows.slice(1).map((row) => Buffer.from(row[0]!, 'base64url').toString());
    expect(ids.every((id) => id.startsWith('User:'))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });

  it('neutralises cells a spreadsheet would run as formulas', async () => {
    const rows = parseCsv(await (await get('fields=email,name,username')).text());
    expect(rows.find((row) => row[0] === 'mallory@example.com')![1]).toBe(`'=HYPERLINK("http://evil")`);
    expect(rows.find((row) => row[0] === 'plus@example.com')!.slice(1)).toEqual(["'+1 tab", "'\tcmd"]);
  });

  it('takes the users filter and fields, by GET or by POST', async () => {
    const filter = JSON.stringify({ statuses: ['SUSPENDED', 'ACTIVE'] });
    const viaGet = parseCsv(await (await get(`fields=email,status&filter=${encodeURIComponent(filter)}`)).text());
    expect(viaGet).toEqual([
      ['email', 'status'],
      ['ada@example.com', 'ACTIVE'],
      ['mallory@example.com', 'SUSPENDED'],
      ['plus@example.com', 'ACTIVE'],
    ]);
    const viaPost = await fetch(exportUrl(), {
      method: 'POST',
      headers: { authorization: `Bearer ${exporter}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        format: 'csv',
        filter: { statuses: ['SUSPENDED', 'ACTIVE'] },
        fields: ['email', 'status'],
      }),
    });
    expect(parseCsv(await viaPost.text())).toEqual(viaGet);
  });
});

describe('NDJSON', () => {
  it('writes one JSON object per user with typed values', async () => {
    const response = await get(
      'format=ndjson&fields=email,emailVerified,createdAt,customAttributes.plan&filter=' +
        encodeURIComponent(JSON.stringify({ search: 'ada@example.com' })),
    );
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await response.text()).split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        email: 'ada@example.com',
        emailVerified: true,
        createdAt: '2026-01-02T03:04:05.678Z',
        'customAttributes.plan': 'pro',
      },
    ]);
  });
});

describe('refusals', () => {
  const USERS = graphql(`
    query ExportUsersFilter($filter: UserFilter) {
      users(first: 1, filter: $filter) {
        totalCount
      }
    }
  `);

  it('gives a bad filter the message the users query gives, as a 400', async () => {
    const bad = { search: 'x'.repeat(300) };
    const graphqlAnswer = await server.graphql(USERS, { filter: bad });
    const message = graphqlAnswer.errors![0]!.message;
    const response = await get(`filter=${encodeURIComponent(JSON.stringify(bad))}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_USER_INPUT');
    expect(message).toContain(body.error.message);

    const enumAnswer = await get(`filter=${encodeURIComponent(JSON.stringify({ statuses: ['BOGUS'] }))}`);
    expect(enumAnswer.status).toBe(400);
    expect(((await enumAnswer.json()) as { error: { message: string } }).error.message).toMatch(
      /^filter\.statuses\.0: Value "BOGUS" does not exist in "UserStatus" enum/,
    );
  });

  it('refuses bad parameters with a clear message, and changes nothing', async () => {
    await expectUnchanged(server, async () => {
      for (const [query, status, pattern] of [
        ['format=xlsx', 400, /format/],
        ['fields=email,passwordHash', 400, /"passwordHash" is not an exportable field/],
        ['fields=customAttributes.nope', 400, /not an exportable field/],
        [`fields=${Array.from({ length: 101 }, () => 'email').join(',')}`, 400, /at most 100 fields/],
        ['filter=not-json', 400, /UserFilter written as JSON/],
      ] as const) {
        const response = await get(query);
        expect(response.status, query.slice(0, 40)).toBe(status);
        expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(pattern);
      }
      const huge = await fetch(exportUrl(), {
        method: 'POST',
        headers: { authorization: `Bearer ${exporter}`, 'content-type': 'application/json' },
        body: JSON.stringify({ filter: { search: 'x'.repeat(70_000) } }),
      });
      expect(huge.status).toBe(413);
      const put = await fetch(exportUrl(), { method: 'PUT', headers: { authorization: `Bearer ${exporter}` } });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, POST');
    });
  });

  it('needs a token, users:export, and the token’s own realm', async () => {
    await expectUnchanged(server, async () => {
      const anonymous = await get('', null);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      const forged = await get('', 'not-a-token');
      expect(forged.status).toBe(401);
      const reader = await get('', await server.token(server.admin, 'users:read'));
      expect(reader.status).toBe(403);
      expect(await reader.json()).toMatchObject({ error: { code: 'FORBIDDEN', missingScopes: ['users:export'] } });
      // Its one audit row, as for a refused GraphQL request.
      const denial = await server.db.prisma.auditEvent.findFirstOrThrow({
        where: { realmId: server.admin.realmId, requestId: reader.headers.get('x-request-id')! },
      });
      expect(denial).toMatchObject({ action: 'authorization.denied', outcome: 'denied' });
      expect(denial.changes).toEqual({
        operation: 'export',
        fields: ['GET /export/{realm}/users'],
        missingScopes: ['users:export'],
      });
      const otherToken = await server.token(other, 'users:export');
      const foreign = await get('', otherToken, 'default');
      expect(foreign.status).toBe(404);
      const unknown = await get('', exporter, 'no-such-realm');
      expect(unknown.status).toBe(404);
    });
    // Its own realm: that realm's users only (none).
    const own = parseCsv(await (await get('', await server.token(other, 'users:export'), 'export-other')).text());
    expect(own).toHaveLength(1);
  });
});

describe('the audit trail', () => {
  const lastExport = () =>
    server.db.prisma.auditEvent.findFirstOrThrow({
      where: { realmId: server.admin.realmId, action: 'users.exported' },
      orderBy: { id: 'desc' },
    });

  it('records who exported what, how many rows, and no value', async () => {
    const filter = { statuses: ['ACTIVE'] };
    await (await get(`fields=email,name&filter=${encodeURIComponent(JSON.stringify(filter))}`)).text();
    const event = await lastExport();
    expect(event).toMatchObject({ actorId: server.admin.clientId, targetType: 'User', outcome: 'success' });
    // The filter as applied, defaults included.
    expect(event.changes).toEqual({
      format: 'csv',
      filter: { ...filter, includeDeleted: false },
      fields: ['email', 'name'],
      rows: 2,
      completed: true,
    });
    expect(JSON.stringify(event)).not.toContain('ada@example.com');
  });

  it('stops reading when the client goes away, and records the export as not completed', async () => {
    // About 20 MB of rows, far more than loopback's socket buffers take from a client that stopped
    // reading: a small export fits in them whole and ends before the server can see the client go.
    const widen = (plan: string | null) =>
      server.db.prisma.$executeRaw`UPDATE "User" SET "customAttributes" =
        CASE WHEN ${plan}::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('plan', ${plan}::text) END
        WHERE "realmId" = ${server.admin.realmId}::uuid AND email LIKE 'bulk-%'`;
    await widen('x'.repeat(8_000));
    try {
      const controller = new AbortController();
      const response = await fetch(exportUrl('fields=email,customAttributes.plan'), {
        headers: { authorization: `Bearer ${exporter}` },
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
      await expect(reader.read()).rejects.toThrow();
      await expect
        .poll(async () => (await lastExport()).changes, { timeout: 10_000 })
        .toMatchObject({ completed: false });
      const { rows } = (await lastExport()).changes as { rows: number };
      expect(rows).toBeLessThan(2_504);
    } finally {
      await widen(null);
    }
  });
});

describe('values the database writes', () => {
  /** Every exportable field, then every custom attribute. */
  const FIELDS =
    'id,email,emailVerified,phone,phoneVerified,username,uniqueId,name,givenName,familyName,nickname,status,' +
    'suspendedReason,country,region,city,locale,timezone,createdAt,updatedAt,lastLoginAt,lastActiveAt,deletedAt,' +
    'customAttributes';
  const WEIRD_KEY = 'q"k,é';
  let edges: Credentials;
  let token: string;
  const exportEdges = async (format: 'csv' | 'ndjson') => {
    const filter = encodeURIComponent(JSON.stringify({ includeDeleted: true }));
    const response = await get(`format=${format}&fields=${FIELDS}&filter=${filter}`, token, 'export-edges');
    expect(response.status).toBe(200);
    return response.text();
  };
  const setAttributes = (id: string, json: string) =>
    server.db.prisma.$executeRaw`UPDATE "User" SET "customAttributes" = ${json}::jsonb WHERE id = ${id}::uuid`;
  /**
   * What the database answers for one batch of the realm's users, a column of each kind; `suffix`
   * lengthens the names (NDJSON keys longer than an identifier are joined, not named).
   */
  const batch = async (format: 'csv' | 'ndjson', suffix = '') => {
    const kinds: FormattedColumn[] = [
      { kind: 'id', key: 'id', name: 'id' },
      { kind: 'text', key: 'name', name: 'name' },
      { kind: 'text', key: 'familyName', name: 'familyName' },
      { kind: 'text', key: 'country', name: 'country' },
      { kind: 'boolean', key: 'emailVerified', name: 'emailVerified' },
      { kind: 'time', key: 'createdAt', name: 'createdAt' },
      { kind: 'time', key: 'deletedAt', name: 'deletedAt' },
      ...['b', 'd', 'e', 'n', 's', WEIRD_KEY].map((key) => ({
        kind: 'attribute' as const,
        key,
        name: `customAttributes.${key}`,
      })),
    ];
    const columns = kinds.map((column) => ({ ...column, name: column.name + suffix }));
    const [formatted] = await exportUserLines(
      server.db.prisma,
      edges.realmId,
      { where: Prisma.sql`TRUE`, format, columns },
      { after: null, upto: null, limit: 1_000 },
    );
    return formatted!;
  };

  beforeAll(async () => {
    edges = await server.createRealm('export-edges');
    token = await server.token(edges, 'users:export');
    const realmId = edges.realmId;
    for (const [key, type] of [
      ['s', 'STRING'],
      ['n', 'NUMBER'],
      ['b', 'BOOLEAN'],
      ['d', 'DATE'],
      ['e', 'ENUM'],
      [WEIRD_KEY, 'STRING'],
    ] as const) {
      await server.db.prisma.customAttributeDefinition.create({ data: { realmId, key, displayName: key, type } });
    }
    await makeUser(server, realmId, {
      email: 'edge@example.com',
      emailVerified: true,
      phone: '+15550001',
      phoneVerified: false,
      username: '=cmd',
      uniqueId: '',
      name: 'Lovelace, "Ada"\nCountess\r\nof, "Lovelace"',
      givenName: 'Zoë 🦊 日本語',
      familyName: '\u0001\u001f\u007f\u2028\u2029',
      nickname: 'back\\slash "q" \\u0041',
      status: 'SUSPENDED',
      suspendedReason: "it's -1",
      country: ',',
      region: '@at',
      city: '-minus',
      locale: '\ttab',
      timezone: '\rcr',
      createdAt: new Date('2026-01-02T03:04:05.001Z'),
      lastLoginAt: new Date('1999-12-31T23:59:59.999Z'),
      lastActiveAt: new Date('1970-01-01T00:00:00.000Z'),
      customAttributes: { s: '=1+2', n: -5, b: false, d: '2026-01-02', e: 'a,b', [WEIRD_KEY]: '"' },
    });
    for (const customAttributes of [
      { s: '', n: 0, b: true, d: null },
      { s: 'plain', n: 0.1, e: '"quoted"' },
      { s: '+plus', n: 123_456_789_012_345 },
      { s: 'x\ny\rz', n: -0.5 },
      { s: 'é\u0000'.slice(0, 1), n: 0.000_001 },
      { s: '-', n: 1.5e-3 },
      { s: '@', n: -1234.5678 },
      { s: '\t', n: 999_999_999_999_999 },
      { s: '\r', n: 100 },
    ]) {
      await makeUser(server, realmId, { customAttributes, name: '@SUM(A1)', status: 'ACTIVE' });
    }
    await makeUser(server, realmId, { email: 'deleted@example.com', deletedAt: new Date('2026-03-04T05:06:07.890Z') });
    // JSON texts only SQL writes: an exponent and a negative zero (both read back as plain numbers).
    await setAttributes((await makeUser(server, realmId)).id, '{"n": 1E+2, "s": "-0"}');
    await setAttributes((await makeUser(server, realmId)).id, '{"n": -0}');
  });

  it('are the bytes JavaScript writes for the same users', async () => {
    const csv = await exportEdges('csv');
    const ndjson = await exportEdges('ndjson');
    // The database formatted these batches.
    expect((await batch('csv')).text).not.toBeNull();
    expect((await batch('ndjson')).text).not.toBeNull();
    // NDJSON keys that fit an identifier are row_to_json's, longer ones joined: the same bytes.
    const long = 'é'.repeat(32);
    const joined = (await batch('ndjson', long)).text!;
    expect(joined.replaceAll(`${long}":`, '":')).toBe((await batch('ndjson')).text);
    expect(joined).toContain(`"customAttributes.q\\"k,é${long}":"\\""`);
    const header = parseCsv(csv)[0]!;
    expect(header.slice(-6)).toEqual([
      'customAttributes.b',
      'customAttributes.d',
      'customAttributes.e',
      'customAttributes.n',
      `customAttributes.${WEIRD_KEY}`,
      'customAttributes.s',
    ]);
    expect(csv.split('\r\n')[0]!.endsWith(`,"customAttributes.q""k,é",customAttributes.s`)).toBe(true);
    const edge = parseCsv(csv).find((row) => row[1] === 'edge@example.com')!;
    expect(Object.fromEntries(header.map((name, i) => [name, edge[i]]))).toMatchObject({
      username: "'=cmd",
      uniqueId: '',
      name: 'Lovelace, "Ada"\nCountess\r\nof, "Lovelace"',
      familyName: '\u0001\u001f\u007f\u2028\u2029',
      city: "'-minus",
      locale: "'\ttab",
      timezone: "'\rcr",
      createdAt: '2026-01-02T03:04:05.001Z',
      lastLoginAt: '1999-12-31T23:59:59.999Z',
      lastActiveAt: '1970-01-01T00:00:00.000Z',
      deletedAt: '',
      phone: "'+15550001",
      emailVerified: 'true',
      phoneVerified: 'false',
      'customAttributes.n': "'-5",
      'customAttributes.s': "'=1+2",
      'customAttributes.b': 'false',
      'customAttributes.e': 'a,b',
      [`customAttributes.${WEIRD_KEY}`]: '"',
    });
    const edgeJson = ndjson
      .split('\n')
      .map((line) => line && (JSON.parse(line) as Record<string, unknown>))
      .find((line) => line && line.email === 'edge@example.com')!;
    expect(edgeJson).toMatchObject({
      emailVerified: true,
      phone: '+15550001',
      uniqueId: '',
      nickname: 'back\\slash "q" \\u0041',
      lastActiveAt: '1970-01-01T00:00:00.000Z',
      deletedAt: null,
      'customAttributes.n': -5,
      'customAttributes.b': false,
      [`customAttributes.${WEIRD_KEY}`]: '"',
    });

    // A value only JavaScript writes as it does sends the batch to JavaScript, which must write
    // every other user exactly as the database did.
    const added = new Set<string>();
    for (const json of [
      '{"s": {"a": [1, "x", null, true, 2.50]}}',
      '{"s": [1, 2.5, "é", {"k": "v"}]}',
      '{"n": 1e21}',
      '{"n": 1e-7}',
      '{"n": 1152921504606846976}',
      '{"n": 2.50}',
      '{"n": 1.0}',
      '{"n": -0.0}',
      '{"n": 0.1234567890123456}',
      '{"n": "text"}',
      '{"b": "true", "d": 20260102}',
    ]) {
      const user = await makeUser(server, edges.realmId);
      await setAttributes(user.id, json);
      added.add(user.globalId);
    }
    expect((await batch('csv')).text).toBeNull();
    expect((await batch('ndjson')).text).toBeNull();
    const csvAfter = await exportEdges('csv');
    const ndjsonAfter = await exportEdges('ndjson');
    const lines = (text: string, separator: string) => {
      const all = text.split(separator);
      return {
        kept: all.filter((line) => ![...added].some((id) => line.includes(id))),
        added: all.filter((line) => [...added].some((id) => line.includes(id))),
      };
    };
    // Line breaks inside quoted cells split CSV lines too, identically in both.
    expect(lines(csvAfter, '\r\n').kept.join('\r\n')).toBe(csv);
    expect(lines(ndjsonAfter, '\n').kept.join('\n')).toBe(ndjson);
    const addedCsv = lines(csvAfter, '\r\n').added.map((line) => parseCsv(`${line}\r\n`)[0]!.slice(-6));
    const n = (value: string) => ['', '', '', value, '', ''];
    expect(addedCsv).toEqual([
      ['', '', '', '', '', '{"a":[1,"x",null,true,2.5]}'],
      ['', '', '', '', '', '[1,2.5,"é",{"k":"v"}]'],
      n('1e+21'),
      n('1e-7'),
      n('1152921504606847000'),
      n('2.5'),
      n('1'),
      n('0'),
      n('0.1234567890123456'),
      n('text'),
      ['true', '20260102', '', '', '', ''],
    ]);
    const addedJson = lines(ndjsonAfter, '\n').added.map((line) => line.slice(line.indexOf('"customAttributes.b"')));
    expect(addedJson).toEqual([
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":null,"customAttributes.q\\"k,é":null,"customAttributes.s":{"a":[1,"x",null,true,2.5]}}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":null,"customAttributes.q\\"k,é":null,"customAttributes.s":[1,2.5,"é",{"k":"v"}]}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":1e+21,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":1e-7,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":1152921504606847000,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":2.5,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":1,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":0,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":0.1234567890123456,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":null,"customAttributes.d":null,"customAttributes.e":null,"customAttributes.n":"text","customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
      `"customAttributes.b":"true","customAttributes.d":20260102,"customAttributes.e":null,"customAttributes.n":null,"customAttributes.q\\"k,é":null,"customAttributes.s":null}`,
    ]);
  });

  it('formats the rest of an export in JavaScript once a batch needed it', async () => {
    // More users than a batch holds, each with an attribute only JavaScript writes as it does.
    await server.db.prisma.user.createMany({
      data: Array.from({ length: 1_000 }, (_, i) => ({
        realmId: edges.realmId,
        email: `batch${i}@example.com`,
        customAttributes: { s: { i } },
      })),
    });
    const { sql } = await server.db.statements.during(() => exportEdges('csv'));
    // The statements reading users' values (not those finding where a batch ends: OFFSET … LIMIT 1).
    const batches = sql.filter(
      (statement) => /FROM "User" u\b/.test(statement) && /ORDER BY u\.id/.test(statement) && !/OFFSET/.test(statement),
    );
    const formattedByDatabase = batches.filter((statement) => statement.includes('string_agg'));
    // The first batch, and the second when it was already under way (it is written while the
    // client reads the first); none after.
    expect(formattedByDatabase.length).toBeGreaterThanOrEqual(1);
    expect(formattedByDatabase.length).toBeLessThanOrEqual(2);
    expect(batches.length - formattedByDatabase.length).toBe(2);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return path === 'src/generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Running a raw statement. */
const STATEMENT = /\$(?:queryRaw|executeRaw)(?:Unsafe)?\b/;
/** Writing raw SQL: Prisma's SQL template helpers, used directly or destructured. */
const FRAGMENT = /\bPrisma\.(?:sql|raw|join|empty)\b|=\s*Prisma\s*;|(?<![.\w])sql`/;

/** The one helper that runs raw statements, always with the realm condition. */
const HELPER = 'src/db/realm-sql.ts';
/** Compiles a user filter into a condition; runs nothing (the users.queries.ts statements do). */
const FILTER_COMPILER = 'src/modules/users/users.filter.ts';
/** Compiles the relations of a Prisma select into subqueries; runs nothing (a page's statement does). */
const SELECT_COMPILER = 'src/db/select-sql.ts';

const files = sourceFiles('src').map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));

describe('raw SQL', () => {
  it('is found by the scan', () => {
    expect(files.filter(({ text }) => STATEMENT.test(text)).map(({ file }) => file)).toContain(HELPER);
    expect(files.filter(({ text }) => FRAGMENT.test(text)).map(({ file }) => file)).toContain(
      'src/modules/users/users.queries.ts',
    );
  });

  it('runs only through the realm-sql helper', () => {
    const outside = files.filter(({ file, text }) => file !== HELPER && STATEMENT.test(text)).map(({ file }) => file);
    expect(outside).toEqual([]);
  });

  it('is written only in *.queries.ts files (and the filter and select compilers)', () => {
    const outside = files
      .filter(({ file }) => !file.endsWith('.queries.ts') && ![HELPER, FILTER_COMPILER, SELECT_COMPILER].includes(file))
      .filter(({ text }) => FRAGMENT.test(text))
      .map(({ file }) => file);
    expect(outside).toEqual([]);
  });
});

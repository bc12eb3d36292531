import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The direction between layers (README, "Layout"): `src/auth/` signs and verifies and, like
 * `src/db/` and the service context, knows no domain; domains in `src/modules/` may use them;
 * `src/identity/` (token endpoint, bootstrap) builds on the domains; the server wires everything;
 * the command line (`src/main.ts`, `src/cli/`) sits on top.
 * `src/graphql/` is plumbing the domains' schema files build on; only `schema.ts`, which
 * assembles them, reaches up into the domains.
 * A file under `from` (but not in `except`) must not import any of `forbidden`, nor anything
 * outside `allowedOnly`.
 */
const RULES: { from: string; except?: string[]; forbidden: string[]; allowedOnly?: string[] }[] = [
  { from: 'src/auth/', forbidden: [], allowedOnly: ['src/auth/', 'src/config.ts', 'src/logger.ts', 'src/generated/'] },
  { from: 'src/db/', forbidden: [], allowedOnly: ['src/db/', 'src/config.ts', 'src/logger.ts', 'src/generated/'] },
  {
    from: 'src/context.ts',
    forbidden: ['src/modules/', 'src/identity/', 'src/server.ts', 'src/yoga.ts', 'src/main.ts', 'src/cli/'],
  },
  {
    from: 'src/graphql/',
    except: ['src/graphql/schema.ts'],
    forbidden: ['src/modules/', 'src/identity/', 'src/server.ts', 'src/yoga.ts', 'src/main.ts', 'src/cli/'],
  },
  { from: 'src/modules/', forbidden: ['src/identity/', 'src/server.ts', 'src/yoga.ts', 'src/main.ts', 'src/cli/'] },
  { from: 'src/identity/', forbidden: ['src/server.ts', 'src/yoga.ts', 'src/main.ts', 'src/cli/'] },
  // The command line is the top: only main.ts uses it, and the server knows nothing of it.
  { from: 'src/server.ts', forbidden: ['src/cli/', 'src/main.ts'] },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return path === 'src/generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /\b(?:import|export)\s[^;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Repository-relative paths of the files a source file imports (packages left out). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)]
    .map((match) => (match[1] ?? match[2])!)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) =>
      relative(ROOT, resolve(ROOT, dirname(file), specifier))
        .split('\\')
        .join('/'),
    );
}

const edges = sourceFiles('src').flatMap((file) => importsOf(file).map((target) => ({ file, target })));

describe('layers', () => {
  it('reads the import graph (static and dynamic imports)', () => {
    expect(edges).toContainEqual({ file: 'src/server.ts', target: 'src/identity/token-endpoint.ts' });
    expect(edges).toContainEqual({ file: 'src/main.ts', target: 'src/identity/bootstrap.ts' });
    expect(edges).toContainEqual({
      file: 'src/modules/applications/applications.credentials.ts',
      target: 'src/auth/crypto.ts',
    });
  });

  it.each(RULES)('files under $from import only what lies below them', ({ from, except, forbidden, allowedOnly }) => {
    const violations = edges
      .filter(({ file }) => file.startsWith(from) && !except?.includes(file))
      .filter(({ target }) =>
        allowedOnly
          ? !allowedOnly.some((prefix) => target.startsWith(prefix))
          : forbidden.some((prefix) => target.startsWith(prefix)),
      )
      .map(({ file, target }) => `${file} -> ${target}`);
    expect(violations).toEqual([]);
  });
});

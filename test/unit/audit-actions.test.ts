import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../../src/modules/audit/audit.actions.ts';

const root = new URL('../../', import.meta.url);

function sourcesUnder(dir: string): string[] {
  return readdirSync(new URL(dir, root), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => `${dir}/${file}`);
}

describe('the audit action catalogue', () => {
  it('the README lists every action with its meaning, and only those', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const table = readme.slice(readme.indexOf('| Action | Meaning |')).split('\n\n')[0]!;
    const listed = [...table.matchAll(/^\| `([a-z_]+\.[a-z_]+)` \| (.*) \|$/gm)].map((match) => [match[1], match[2]]);
    expect(Object.fromEntries(listed)).toEqual(AUDIT_ACTIONS);
    expect(listed).toHaveLength(Object.keys(AUDIT_ACTIONS).length);
  });

  it('lists only actions that Roster writes', () => {
    const code = sourcesUnder('src')
      .filter((file) => !file.includes('/generated/') && !file.endsWith('audit.actions.ts'))
      .map((file) => readFileSync(new URL(file, root), 'utf8'))
      .join('\n');
    const unused = Object.keys(AUDIT_ACTIONS).filter((action) => !code.includes(`'${action}'`));
    expect(unused).toEqual([]);
  });
});

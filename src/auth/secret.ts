import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

const SECRET_FILE = 'secret.key';

/**
 * The server secret, from configuration or, for the embedded default, generated once and
 * kept next to the embedded database (mode 0600).
 */
export async function resolveServerSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, SECRET_FILE);
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    // Older versions left it readable to others when the umask allowed it.
    const { mode } = await stat(file);
    if (mode & 0o077) await chmod(file, 0o600);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw error;
  }
}

/** Derives an independent 256-bit key for one purpose from the server secret. */
export function deriveKey(secret: string, purpose: string): Buffer {
  const salt = createHash('sha256').update('roster').digest();
  return Buffer.from(hkdfSync('sha256', secret, salt, purpose, 32));
}

import { readFileSync } from 'node:fs';
import { hash as argon2Hash, parseOptions, verify as argon2Verify, type Options } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/** The algorithms a stored password hash can have. */
export type PasswordAlgorithm = 'ARGON2ID' | 'BCRYPT';

/** OWASP's argon2id configuration, set explicitly rather than trusting library defaults. */
const ARGON2_OPTIONS: Options = {
  // `Algorithm` is an ambient const enum, which isolated modules cannot reference: 2 is Argon2id.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export const PASSWORD_POLICY = {
  /** The floor of every realm's minimum length (NIST SP 800-63B). */
  minLength: 8,
  /** Longer passwords are refused before hashing. */
  maxLength: 256,
  /** Context words shorter than this are not looked for inside passwords. */
  minContextLength: 3,
  /** Parts of names and email local parts shorter than this are not looked for. */
  minContextPartLength: 4,
} as const;

/** Why a password was refused. Messages never repeat the password. */
export interface PasswordProblem {
  code: 'REQUIRED' | 'TOO_SHORT' | 'TOO_LONG' | 'WEAK_PASSWORD';
  message: string;
}

/** What a password must not resemble: the user's own identifiers and names. */
export interface PasswordContext {
  email?: string | null;
  username?: string | null;
  name?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  nickname?: string | null;
}

const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#')),
);

/** Length in characters (code points), as a person counts them. */
function characters(value: string): number {
  return [...value].length;
}

/** Whether the password is one of the ~1,000 most common ones, ignoring case. */
function isCommonPassword(password: string): boolean {
  return COMMON_PASSWORDS.has(password.toLowerCase());
}

function contextWords(context: PasswordContext): { word: string; what: string }[] {
  const words: { word: string; what: string }[] = [];
  const add = (value: string | null | undefined, what: string) => {
    const word = value?.trim().toLowerCase();
    if (word && characters(word) >= PASSWORD_POLICY.minContextLength) words.push({ word, what });
  };
  // Parts of multi-word values count too, when long enough not to be everyday syllables.
  const addParts = (value: string | null | undefined, what: string) => {
    for (const part of value?.split(/[\s._+-]+/) ?? []) {
      if (characters(part) >= PASSWORD_POLICY.minContextPartLength) add(part, what);
    }
  };
  const localPart = context.email?.split('@')[0];
  add(localPart, 'the email address');
  addParts(localPart, 'the email address');
  add(context.username, 'the username');
  add(context.name, 'the name');
  add(context.name?.replace(/\s+/g, ''), 'the name');
  addParts(context.name, 'the name');
  add(context.givenName, 'the given name');
  add(context.familyName, 'the family name');
  add(context.nickname, 'the nickname');
  return words;
}

/**
 * Checks a new password against the policy: at least `minLength` characters (never fewer than
 * 8), at most 256, not one of the most common passwords, and neither equal to nor containing
 * the user's email local part, username or names, nor any part of at least 4 characters of
 * the name or the email local part (ignoring case). No composition rules.
 * Returns null when the password is acceptable.
 */
export function passwordProblem(
  password: string,
  minLength: number,
  context: PasswordContext = {},
): PasswordProblem | null {
  const min = Math.max(PASSWORD_POLICY.minLength, minLength);
  const length = characters(password);
  if (length === 0) return { code: 'REQUIRED', message: 'The password must not be empty.' };
  if (length > PASSWORD_POLICY.maxLength) {
    return { code: 'TOO_LONG', message: `The password must be at most ${PASSWORD_POLICY.maxLength} characters.` };
  }
  if (length < min) return { code: 'TOO_SHORT', message: `The password must be at least ${min} characters.` };
  if (isCommonPassword(password)) {
    return {
      code: 'WEAK_PASSWORD',
      message: 'The password is one of the most commonly used passwords; choose another one.',
    };
  }
  const lower = password.toLowerCase();
  for (const { word, what } of contextWords(context)) {
    if (lower.includes(word)) {
      return {
        code: 'WEAK_PASSWORD',
        message: `The password must not be or contain ${what} of the user; choose another one.`,
      };
    }
  }
  return null;
}

/** An argon2id hash (PHC string) of the password with the OWASP parameters. */
export function hashPassword(password: string): Promise<string> {
  if (characters(password) > PASSWORD_POLICY.maxLength) throw new Error('Password too long to hash.');
  return argon2Hash(password, ARGON2_OPTIONS);
}

/**
 * The columns of a user whose password was just set to `passwordHash` (an argon2id hash), at
 * `now`; `temporary`: it must be changed at the next sign-in.
 */
export function newPasswordColumns(passwordHash: string, now: Date, temporary = false) {
  return {
    passwordHash,
    passwordAlgorithm: 'ARGON2ID' as const,
    passwordChangedAt: now,
    passwordExpired: temporary,
  };
}

/** Upper bounds of imported hashes' cost parameters, so verifying one cannot exhaust the server. */
const IMPORTED_HASH_LIMITS = {
  argon2MaxMemoryKiB: 262_144,
  argon2MaxTimeCost: 16,
  argon2MaxParallelism: 16,
  bcryptMinCost: 4,
  bcryptMaxCost: 16,
} as const;

const ARGON2ID_PHC = /^\$argon2id\$v=19\$m=\d{1,10},t=\d{1,10},p=\d{1,3}\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$/;
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/**
 * Why an imported hash cannot be stored as `algorithm` (the message never repeats the hash),
 * or null when it is well-formed: ARGON2ID takes a PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`
 * (salt ≥ 8 bytes, hash ≥ 16 bytes); BCRYPT takes `$2a$`, `$2b$` or `$2y$` hashes.
 */
export function importedHashProblem(hash: string, algorithm: PasswordAlgorithm): string | null {
  const limits = IMPORTED_HASH_LIMITS;
  if (algorithm === 'ARGON2ID') {
    if (!ARGON2ID_PHC.test(hash))
      return 'The hash is not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).';
    let options;
    try {
      options = parseOptions(hash);
    } catch {
      return 'The hash is not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).';
    }
    if (
      options.memoryCost > limits.argon2MaxMemoryKiB ||
      options.timeCost > limits.argon2MaxTimeCost ||
      options.parallelism > limits.argon2MaxParallelism ||
      options.memoryCost < 8 * options.parallelism ||
      options.timeCost < 1
    ) {
      return `The hash's parameters are out of range (m ≤ ${limits.argon2MaxMemoryKiB} KiB, t ≤ ${limits.argon2MaxTimeCost}, p ≤ ${limits.argon2MaxParallelism}).`;
    }
    return null;
  }
  const match = BCRYPT.exec(hash);
  if (!match) return 'The hash is not a bcrypt hash ($2a$, $2b$ or $2y$, cost, then 53 characters).';
  const cost = Number(match[1]);
  if (cost < limits.bcryptMinCost || cost > limits.bcryptMaxCost) {
    return `The bcrypt cost must be between ${limits.bcryptMinCost} and ${limits.bcryptMaxCost}.`;
  }
  return null;
}

/**
 * Whether `password` matches a stored hash of either algorithm. Malformed hashes and
 * over-long passwords never match.
 */
export async function verifyPassword(hash: string, algorithm: PasswordAlgorithm, password: string): Promise<boolean> {
  if (characters(password) > PASSWORD_POLICY.maxLength || importedHashProblem(hash, algorithm) !== null) return false;
  try {
    if (algorithm === 'ARGON2ID') return await argon2Verify(hash, password);
    // $2y$ (PHP) is the same algorithm as $2b$.
    return await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
  } catch {
    return false;
  }
}

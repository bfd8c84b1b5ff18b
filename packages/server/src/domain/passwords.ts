import { hash, verify } from '@node-rs/argon2';

/** Passwords longer than this are refused before hashing (docs/security-checklist.md E69: no 10 MB argon2 input). */
export const MAX_PASSWORD_BYTES = 1024;
export const MIN_ACCOUNT_PASSWORD_LENGTH = 8;

// 2 = Algorithm.Argon2id (a const enum, which isolated modules cannot import).
const OPTIONS = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
  try {
    return await verify(hashed, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | null = null;

/** Makes the dummy hash ahead of time, so even the first unknown email costs one verification, not a hash too. */
export function prepareDummyHash(): Promise<string> {
  dummyHash ??= hashPassword('ferry-dummy-password-for-uniform-timing');
  return dummyHash;
}

/** Spends the same time as a real check when there is nothing to check against (no user, no oracle). */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(await prepareDummyHash(), password);
  return false;
}

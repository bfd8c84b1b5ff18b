import { randomBase62 } from '../ids.ts';
import { sha256Hex } from '../domain/secrets.ts';
import { fail } from '../errors.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import type { Principal } from './principal.ts';

/** `fyu_` + 40 base62 (238 bits). Shown once when issued; only its SHA-256 is stored. */
const TOKEN_PATTERN = /^fyu_[0-9A-Za-z]{40}$/;

export function newUploadToken(): { token: string; hash: string } {
  const token = `fyu_${randomBase62(40)}`;
  return { token, hash: sha256Hex(token) };
}

/**
 * Per-transfer upload tokens: what a browser page or a file request holds instead of an API key.
 * A token authenticates as the transfer's owner with files:write, pinned to that one transfer.
 */
export class UploadTokens {
  constructor(
    private readonly transfers: TransfersRepository,
    /** Read at every use: a disabled account's upload tokens stop at once. */
    private readonly owners: Pick<UsersRepository, 'isActive'>,
  ) {}

  async authenticate(token: string): Promise<Principal> {
    if (!TOKEN_PATTERN.test(token)) throw fail.invalid_token('The upload token is malformed.');
    // Lookup by hash of a 238-bit secret: no timing oracle worth having, and nothing to compare.
    const row = await this.transfers.findByUploadTokenHash(sha256Hex(token));
    if (!row) throw fail.invalid_token('The upload token is unknown or was rotated.');
    if (!(await this.owners.isActive(row.user_id))) throw fail.account_disabled('The account this upload token belongs to is disabled.');
    return { userId: row.user_id, scopes: ['files:write'], via: 'upload_token', transferId: row.id };
  }

  /** Replaces the token of a transfer (the caller checked ownership); the old one stops working. */
  async rotate(transferId: string): Promise<string> {
    const { token, hash } = newUploadToken();
    await this.transfers.setUploadTokenHash(transferId, hash);
    return token;
  }
}

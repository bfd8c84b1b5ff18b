import { newId, randomBase36, randomBase62 } from '../ids.ts';
import { fail } from '../errors.ts';
import { safeEqual, sha256Hex } from '../domain/secrets.ts';
import { isScope, type Scope } from '../domain/scopes.ts';
import type { Db } from '../db/database.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { isExpired } from '../domain/expiry.ts';
import { isDisabled } from '../domain/account-status.ts';
import type { ApiKeysRepository, ApiKeyRow } from '../repositories/api-keys-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import { scopesForUser } from '../domain/scopes.ts';
import type { Principal } from './principal.ts';

const KEY_FORMAT = /^fy_([a-z0-9]{8})_([A-Za-z0-9]{40})$/;
const DUMMY_HASH = sha256Hex('fy_00000000_dummy');
const TOUCH_EVERY_MS = 60_000;

export interface KeyInput {
  name?: string;
  scopes?: string[];
  expires_at?: string | null;
}

/** API keys: shown once, stored as SHA-256, scoped, never wider than whoever made them. */
export class KeyService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly users: UsersRepository,
    private readonly clock: Clock,
    private readonly db: Db,
    private readonly events: DomainEvents,
  ) {}

  async create(owner: Principal, input: Required<Pick<KeyInput, 'name' | 'scopes'>> & KeyInput) {
    const scopes = this.checkScopes(owner, input.scopes);
    const { key, prefix } = generateKey();
    const row: ApiKeyRow = {
      id: newId('key'),
      user_id: owner.userId,
      prefix,
      secret_hash: sha256Hex(key),
      name: checkName(input.name),
      scopes: JSON.stringify(scopes),
      created_at: iso(this.clock.now()),
      last_used_at: null,
      expires_at: this.checkExpiry(input.expires_at),
      revoked_at: null,
    };
    await this.keys.insert(row);
    return { row, key };
  }

  async list(userId: string, limit: number, offset: number) {
    const [rows, total] = await Promise.all([this.keys.listForUser(userId, limit, offset), this.keys.countForUser(userId)]);
    return { rows, total };
  }

  async get(userId: string, id: string): Promise<ApiKeyRow> {
    const row = await this.keys.findForUser(userId, id);
    if (!row) throw fail.not_found('API key not found.');
    return row;
  }

  async update(owner: Principal, id: string, input: KeyInput): Promise<ApiKeyRow> {
    await this.getManageable(owner, id);
    const changes: Partial<ApiKeyRow> = {};
    if (input.name !== undefined) changes.name = checkName(input.name);
    if (input.scopes !== undefined) changes.scopes = JSON.stringify(this.checkScopes(owner, input.scopes));
    if (input.expires_at !== undefined) changes.expires_at = this.checkExpiry(input.expires_at);
    return (await this.keys.update(owner.userId, id, changes))!;
  }

  /** New secret for the same key id; the old secret stops working at once. */
  async regenerate(owner: Principal, id: string) {
    const existing = await this.getManageable(owner, id);
    if (existing.revoked_at) throw fail.key_revoked('A revoked key cannot be regenerated.');
    const { key, prefix } = generateKey();
    const row = await this.keys.update(owner.userId, id, { prefix, secret_hash: sha256Hex(key) });
    return { row: row!, key };
  }

  async revoke(owner: Principal, id: string): Promise<ApiKeyRow> {
    const existing = await this.getManageable(owner, id);
    if (existing.revoked_at) return existing;
    return (await this.keys.update(owner.userId, id, { revoked_at: iso(this.clock.now()) }))!;
  }

  async delete(owner: Principal, id: string): Promise<void> {
    await this.getManageable(owner, id);
    if (!(await this.keys.delete(owner.userId, id))) throw fail.not_found('API key not found.');
  }

  /**
   * One of the caller's keys that the caller may change, regenerate, revoke or delete: only one
   * with no scope the caller lacks, so a narrow key cannot take over or disable a wider one.
   * Scopes the key has lost with its owner's rights (`admin` of a demoted user) do not count.
   */
  private async getManageable(owner: Principal, id: string): Promise<ApiKeyRow> {
    const row = await this.get(owner.userId, id);
    let lacking = parseScopes(row.scopes).filter((s) => !owner.scopes.includes(s));
    if (lacking.length > 0) {
      const user = await this.users.findById(owner.userId);
      const effective = scopesForUser(user?.is_admin === 1);
      lacking = lacking.filter((s) => effective.includes(s));
    }
    if (lacking.length > 0) {
      throw fail.insufficient_scope(`This key has scopes the caller lacks (${lacking.join(', ')}), so the caller cannot change it.`);
    }
    return row;
  }

  /**
   * Bearer key -> principal. Unknown prefix, wrong secret and malformed keys cost the same work
   * and answer the same 401; revocation and expiry are told only to a caller who has the secret.
   */
  async authenticate(bearer: string): Promise<Principal> {
    const match = KEY_FORMAT.exec(bearer);
    const row = match ? await this.keys.findByPrefix(match[1]!) : undefined;
    const matches = safeEqual(sha256Hex(bearer), row?.secret_hash ?? DUMMY_HASH);
    if (!row || !matches) throw fail.invalid_token('The API key is not valid.');
    const now = this.clock.now();
    if (row.revoked_at) throw fail.token_revoked('The API key has been revoked.');
    if (isExpired(row.expires_at, now)) throw fail.token_expired('The API key has expired.');
    const user = await this.users.findById(row.user_id);
    if (!user) throw fail.invalid_token('The API key is not valid.');
    // Read from the database at every use (no cache anywhere), so a disabled account's keys stop at once.
    if (isDisabled(user)) throw fail.account_disabled('The account this API key belongs to is disabled.');
    if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > TOUCH_EVERY_MS) {
      // `api_key.used` speaks at most once a minute per key, with the use it reports.
      await this.db.transaction().execute(async (tx) => {
        if (await this.keys.touch(row.id, iso(now), iso(new Date(now.getTime() - TOUCH_EVERY_MS)), tx)) {
          await this.events.emit('api_key.used', row.user_id, { api_key: { id: row.id, name: row.name, prefix: row.prefix }, used_at: iso(now) }, tx);
        }
      });
    }
    // A key never outlives its owner's rights: an admin key of a demoted user loses `admin`.
    const allowed = scopesForUser(user.is_admin === 1);
    const scopes = parseScopes(row.scopes).filter((s) => allowed.includes(s));
    return { userId: row.user_id, scopes, via: 'key', keyId: row.id };
  }

  private checkScopes(owner: Principal, requested: string[]): Scope[] {
    if (requested.length === 0) throw fail.validation_failed('scopes must name at least one scope.');
    const unknown = requested.filter((s) => !isScope(s));
    if (unknown.length > 0) throw fail.validation_failed(`Unknown scopes: ${unknown.join(', ')}.`, { details: { unknown } });
    const lacking = requested.filter((s) => !owner.scopes.includes(s as Scope));
    if (lacking.length > 0) {
      throw fail.insufficient_scope(`A key cannot grant scopes its creator lacks: ${lacking.join(', ')}.`);
    }
    return [...new Set(requested as Scope[])];
  }

  private checkExpiry(value: string | null | undefined): string | null {
    if (value === undefined || value === null) return null;
    const time = Date.parse(value);
    if (!Number.isFinite(time)) throw fail.validation_failed('expires_at must be an ISO 8601 date-time.');
    if (time <= this.clock.now().getTime()) throw fail.validation_failed('expires_at must be in the future.');
    return new Date(time).toISOString();
  }
}

function generateKey(): { key: string; prefix: string } {
  const prefix = randomBase36(8);
  return { key: `fy_${prefix}_${randomBase62(40)}`, prefix };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 100) throw fail.validation_failed('name must have 1 to 100 characters.');
  return trimmed;
}

export const parseScopes = (json: string): Scope[] => (JSON.parse(json) as string[]).filter(isScope);

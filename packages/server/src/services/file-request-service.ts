import { newId } from '../ids.ts';
import { fail, tooManyRequests } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { sha256Hex } from '../domain/secrets.ts';
import { MAX_PASSWORD_BYTES, verifyPassword } from '../domain/passwords.ts';
import { FILE_REQUEST_TOKEN, newFileRequestToken } from '../domain/file-request-rules.ts';
import type { FileRequestListQuery, FileRequestRow, FileRequestsRepository, FileRequestUsage } from '../repositories/file-requests-repository.ts';
import type { TransferListQuery, TransferWithTotals } from '../repositories/transfers-repository.ts';
import type { FileRequestCaps } from './file-request-caps.ts';
import { fileRequestChanges, uploaderFields, type FileRequestInput, type UploaderInput } from './file-request-input.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { TransferService } from './transfer-service.ts';
import { UNLOCK_LIMITS } from './unlock-service.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';

export interface FileRequestDetail {
  request: FileRequestRow;
  usage: FileRequestUsage;
  /** The link's token: only when just made or replaced (it is stored hashed). */
  token?: string;
}

/** A transfer just opened for an uploader, and the upload token that is their only credential. */
export interface OpenedUpload {
  transfer: TransferWithTotals;
  uploadToken: string;
  request: FileRequestRow;
}

/**
 * File requests: the requester makes, reads, changes and deletes them; whoever holds a link opens
 * a transfer of their own in it (owned by the requester) and uploads with that transfer's upload
 * token through the ordinary upload routes, where FileRequestCaps holds the request's caps.
 */
/** Uploads one address may open through file request links per hour, and one request per day. */
export const OPEN_LIMITS = { perIpPerHour: 30, perRequestPerDay: 200 } as const;

export class FileRequestService {
  constructor(
    private readonly requests: FileRequestsRepository,
    private readonly transfers: TransferService,
    private readonly caps: FileRequestCaps,
    private readonly limiter: RateLimiter,
    private readonly clock: Clock,
    /** Whether the requester's account is active: a disabled account's request links stop (404). */
    private readonly owners: Pick<UsersRepository, 'isActive'>,
  ) {}

  async create(userId: string, input: FileRequestInput & { title: string }): Promise<FileRequestDetail> {
    const now = this.clock.now();
    const changes = await fileRequestChanges(input, now);
    const { token, hash } = newFileRequestToken();
    const row: FileRequestRow = {
      id: newId('frq'),
      user_id: userId,
      token_hash: hash,
      title: changes.title!,
      message: changes.message ?? null,
      expires_at: changes.expires_at ?? null,
      max_files: changes.max_files ?? null,
      max_bytes: changes.max_bytes ?? null,
      max_file_size: changes.max_file_size ?? null,
      allowed_types: changes.allowed_types ?? null,
      password_hash: changes.password_hash ?? null,
      require_name: changes.require_name ?? 0,
      require_email: changes.require_email ?? 0,
      notify: changes.notify ?? 1,
      created_at: iso(now),
      updated_at: iso(now),
      deleted_at: null,
    };
    await this.requests.insert(row);
    return { request: row, usage: { transfers: 0, files: 0, bytes: 0 }, token };
  }

  async list(query: FileRequestListQuery): Promise<{ rows: FileRequestDetail[]; total: number }> {
    const { rows, total } = await this.requests.list(query);
    const usage = await this.requests.usageOf(rows.map((r) => r.id));
    return { rows: rows.map((request) => ({ request, usage: usage.get(request.id) ?? { transfers: 0, files: 0, bytes: 0 } })), total };
  }

  async get(userId: string, id: string): Promise<FileRequestDetail> {
    const request = await this.requireOwned(userId, id);
    return { request, usage: await this.requests.usage(id) };
  }

  /** Caps may be lowered below what was received: the request is then full; nothing received is removed. */
  async update(userId: string, id: string, input: FileRequestInput): Promise<FileRequestDetail> {
    await this.requireOwned(userId, id);
    const changes = await fileRequestChanges(input, this.clock.now());
    await this.requests.update(id, { ...changes, updated_at: iso(this.clock.now()) });
    return this.get(userId, id);
  }

  /** Soft delete: the link answers 410 and takes no more uploads; received transfers stay the requester's. */
  async delete(userId: string, id: string): Promise<void> {
    await this.requireOwned(userId, id);
    const now = iso(this.clock.now());
    await this.requests.update(id, { deleted_at: now, updated_at: now });
  }

  /** A new link for the request; the old one stops working at once. Shown only in this answer. */
  async replaceLink(userId: string, id: string): Promise<FileRequestDetail> {
    await this.requireOwned(userId, id);
    const { token, hash } = newFileRequestToken();
    await this.requests.update(id, { token_hash: hash, updated_at: iso(this.clock.now()) });
    return { ...(await this.get(userId, id)), token };
  }

  /** The transfers received through the request, as ordinary transfers of the requester. */
  async transfersOf(userId: string, id: string, query: Omit<TransferListQuery, 'userId' | 'nowIso' | 'fileRequestId'>) {
    await this.requireOwned(userId, id);
    return this.transfers.list({ ...query, userId, fileRequestId: id });
  }

  /** What the link shows to anyone holding it: 404 unknown, 410 deleted or expired. */
  async publicView(token: string): Promise<FileRequestDetail> {
    const request = await this.byToken(token);
    this.caps.assertLive(request);
    return { request, usage: await this.requests.usage(request.id) };
  }

  /**
   * Opens a transfer for one uploader: the request must be live and not full, the password right
   * (guesses throttled per address and per request, as link passwords), and name and email given
   * when the request requires them.
   */
  async openUpload(token: string, input: UploaderInput, ip: string): Promise<OpenedUpload> {
    const { request, usage } = await this.publicView(token);
    const uploader = uploaderFields(request, input);
    await this.checkPassword(request, input.password ?? undefined, ip);
    this.caps.assertNotFull(request, usage);
    // Each opening may end in a transfer in the requester's account and a notice to them: bounded
    // per address and per request, so a link holder cannot flood either.
    const byIp = await this.limiter.consume(`frq:open:ip:${ip}`, OPEN_LIMITS.perIpPerHour, 3600);
    const byRequest = await this.limiter.consume(`frq:open:${request.id}`, OPEN_LIMITS.perRequestPerDay, 86_400);
    if (!byIp.allowed || !byRequest.allowed) {
      throw tooManyRequests(Math.max(byIp.allowed ? 0 : byIp.resetSeconds, byRequest.allowed ? 0 : byRequest.resetSeconds), 'Too many uploads opened through this link; retry later.');
    }
    const { transfer, uploadToken } = await this.transfers.createForRequest(request.user_id, request, uploader);
    return { transfer, uploadToken, request };
  }

  private async checkPassword(request: FileRequestRow, password: string | undefined, ip: string): Promise<void> {
    if (request.password_hash === null) return;
    if (password === undefined || password.length === 0) throw fail.password_required('This file request is password protected: send password.');
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw fail.payload_too_large(`password must be at most ${MAX_PASSWORD_BYTES} bytes.`);
    // Every attempt counts, before the costly hash check, so guessing is throttled however fast it runs.
    const byIp = await this.limiter.consume(`frq:ip:${ip}`, UNLOCK_LIMITS.perIp, UNLOCK_LIMITS.windowSeconds);
    const byLink = await this.limiter.consume(`frq:link:${request.id}`, UNLOCK_LIMITS.perLink, UNLOCK_LIMITS.windowSeconds);
    if (!byIp.allowed || !byLink.allowed) {
      throw tooManyRequests(Math.max(byIp.allowed ? 0 : byIp.resetSeconds, byLink.allowed ? 0 : byLink.resetSeconds), 'Too many password attempts; retry later.');
    }
    if (!(await verifyPassword(request.password_hash, password))) throw fail.invalid_password('The password is incorrect.');
  }

  private async byToken(token: string): Promise<FileRequestRow | undefined> {
    if (!FILE_REQUEST_TOKEN.test(token)) throw fail.not_found('File request not found.');
    const request = await this.requests.findByTokenHash(sha256Hex(token));
    if (!request || !(await this.owners.isActive(request.user_id))) throw fail.not_found('File request not found.');
    return request;
  }

  private async requireOwned(userId: string, id: string): Promise<FileRequestRow> {
    const request = await this.requests.findForUser(userId, id);
    if (!request) throw fail.not_found('File request not found.');
    return request;
  }
}

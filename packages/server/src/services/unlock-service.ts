import { fail, tooManyRequests } from '../errors.ts';
import type { Clock } from '../domain/clock.ts';
import { MAX_PASSWORD_BYTES, verifyPassword } from '../domain/passwords.ts';
import type { UrlSigner } from '../domain/url-signer.ts';
import type { DownloadService, LinkRef } from './download-service.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { DomainEvents } from '../events/domain-events.ts';

/** Guesses allowed per window, per client address and per link (many addresses together). */
export const UNLOCK_LIMITS = { perIp: 10, perLink: 50, windowSeconds: 600 } as const;

/** Trades a link's password for a short-lived access token bound to that transfer. */
export class UnlockService {
  constructor(
    private readonly downloads: DownloadService,
    private readonly limiter: RateLimiter,
    private readonly signer: UrlSigner,
    private readonly clock: Clock,
    private readonly tokenTtlSeconds: number,
    private readonly events: DomainEvents,
  ) {}

  /** The token opens the transfer on every link to it (the shared one and recipients'). */
  async unlock(link: LinkRef, password: string, ip: string): Promise<{ transferId: string; token: string; expiresAt: Date }> {
    const { transfer } = await this.downloads.openLink(link);
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
      throw fail.payload_too_large(`password must be at most ${MAX_PASSWORD_BYTES} bytes.`);
    }
    if (!transfer.password_hash) throw fail.not_protected('This transfer has no password.');
    // Every attempt counts, before the costly hash check, so guessing is throttled however fast it runs.
    const byIp = await this.limiter.consume(`unlock:ip:${ip}`, UNLOCK_LIMITS.perIp, UNLOCK_LIMITS.windowSeconds);
    const byLink = await this.limiter.consume(`unlock:link:${transfer.id}`, UNLOCK_LIMITS.perLink, UNLOCK_LIMITS.windowSeconds);
    if (!byIp.allowed || !byLink.allowed) {
      throw tooManyRequests(Math.max(byIp.allowed ? 0 : byIp.resetSeconds, byLink.allowed ? 0 : byLink.resetSeconds), 'Too many password attempts; retry later.');
    }
    if (password.length === 0 || !(await verifyPassword(transfer.password_hash, password))) {
      // Bounded by the guess limits above, so a guesser cannot flood the owner's webhooks.
      await this.events.emit('transfer.password_failed', transfer.user_id, { transfer: { id: transfer.id, title: transfer.title } });
      throw fail.invalid_password('The password is incorrect.');
    }
    const expiresAt = new Date(this.clock.now().getTime() + this.tokenTtlSeconds * 1000);
    const token = this.signer.issueAccessToken(transfer.id, transfer.password_hash, Math.floor(expiresAt.getTime() / 1000));
    return { transferId: transfer.id, token, expiresAt };
  }
}

import { Redis } from 'ioredis';

export interface RedisOptions {
  /** Longest wait for the TCP connection, at start and on every reconnect. */
  connectTimeoutMs?: number;
  /** Longest wait for one command's reply before it fails (so a hung Redis answers 503, not never). */
  commandTimeoutMs?: number;
  /** Connection errors after start (reconnects); without it ioredis prints them to stderr. */
  onError?: (err: Error) => void;
}

/** Redis as named in messages: the URL without its password. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}

/**
 * Connects to `url` and answers once Redis is ready, or throws a clear error within about
 * `connectTimeoutMs` when it is unreachable, so a misconfigured instance never starts.
 * After start the client reconnects by itself; a command issued while Redis is down fails after
 * one reconnect attempt (maxRetriesPerRequest 1) instead of queueing, so the HTTP layer can
 * answer 503.
 */
export async function openRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    maxRetriesPerRequest: 1,
  });
  let lastError: Error | undefined;
  const capture = (err: Error) => {
    lastError = err;
  };
  redis.on('error', capture);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise<never>((_, reject) => {
        // A ready check that never answers would otherwise leave connect() pending.
        timer = setTimeout(() => reject(new Error('connect timed out')), connectTimeoutMs + 1_000);
      }),
    ]);
  } catch (err) {
    redis.disconnect();
    const reason = (lastError ?? (err as Error)).message;
    throw new Error(`Cannot connect to Redis at ${describeRedisUrl(url)}: ${reason}`, { cause: lastError ?? err });
  } finally {
    clearTimeout(timer);
    redis.off('error', capture);
  }
  if (options.onError) redis.on('error', options.onError);
  return redis;
}

/** Closes the client, letting queued replies arrive; gives up waiting after `timeoutMs`. */
export async function closeRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.quit(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    // Already closing or unreachable: the disconnect below ends it either way.
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

import type { Scope } from '../domain/scopes.ts';

/** Who is calling, as established by the auth guard from a key or a session cookie. */
export interface Principal {
  userId: string;
  scopes: readonly Scope[];
  via: 'key' | 'session' | 'upload_token';
  keyId?: string;
  sessionId?: string;
  /** Upload tokens grant uploads into this one transfer and nothing else. */
  transferId?: string;
}

export const hasScope = (principal: Principal, scope: Scope): boolean => principal.scopes.includes(scope);

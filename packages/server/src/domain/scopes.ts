export const SCOPES = [
  'transfers:read',
  'transfers:write',
  'files:read',
  'files:write',
  'analytics:read',
  'webhooks:read',
  'webhooks:write',
  'keys:read',
  'keys:write',
  'requests:read',
  'requests:write',
  'speed:read',
  'speed:write',
  'account:read',
  'admin',
] as const;

export type Scope = (typeof SCOPES)[number];

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/** What a signed-in user may do: every scope, and `admin` only for administrators. */
export const scopesForUser = (isAdmin: boolean): Scope[] => SCOPES.filter((s) => s !== 'admin' || isAdmin);

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/domain/scopes.ts';
import type { App } from '../../src/app.ts';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createKey } from '../support/accounts.ts';
import { expectError, ghostId } from '../support/http.ts';

/**
 * docs/security-checklist.md D59 (and J113): the route table itself. Every registered route is
 * listed here with the rule it must declare, so a new route fails this test until someone decides
 * who may call it; then each guarded route is called without credentials (401) and with a key
 * lacking its scope (403).
 */

type Rule = { public: true } | { scope: string };
const PUBLIC: Rule = { public: true };
const scope = (s: string): Rule => ({ scope: s });

const API_ROUTES: Record<string, Rule> = {
  'POST /api/v1/auth/signup': PUBLIC,
  'POST /api/v1/auth/login': PUBLIC,
  'POST /api/v1/auth/logout': PUBLIC,
  'POST /api/v1/admin/invites': scope('admin'),
  'GET /api/v1/admin/jobs': scope('admin'),
  'POST /api/v1/admin/jobs/:id/retry': scope('admin'),
  'GET /api/v1/admin/users': scope('admin'),
  'GET /api/v1/admin/users/:id': scope('admin'),
  'POST /api/v1/admin/users/:id/disable': scope('admin'),
  'POST /api/v1/admin/users/:id/enable': scope('admin'),
  'DELETE /api/v1/admin/users/:id': scope('admin'),
  'GET /api/v1/admin/stats': scope('admin'),
  'GET /api/v1/admin/transfers': scope('admin'),
  'GET /api/v1/admin/transfers/:id': scope('admin'),
  'DELETE /api/v1/admin/transfers/:id': scope('admin'),
  'POST /api/v1/admin/transfers/:id/expiry': scope('admin'),
  'GET /api/v1/account': scope('account:read'),
  'POST /api/v1/keys': scope('keys:write'),
  'GET /api/v1/keys': scope('keys:read'),
  'GET /api/v1/keys/:id': scope('keys:read'),
  'PATCH /api/v1/keys/:id': scope('keys:write'),
  'DELETE /api/v1/keys/:id': scope('keys:write'),
  'POST /api/v1/keys/:id/regenerate': scope('keys:write'),
  'POST /api/v1/keys/:id/revoke': scope('keys:write'),
  'POST /api/v1/transfers': scope('transfers:write'),
  'GET /api/v1/transfers': scope('transfers:read'),
  'GET /api/v1/transfers/:id': scope('transfers:read'),
  'PATCH /api/v1/transfers/:id': scope('transfers:write'),
  'PUT /api/v1/transfers/:id': scope('transfers:write'),
  'DELETE /api/v1/transfers/:id': scope('transfers:write'),
  'POST /api/v1/transfers/:id/upload-token': scope('transfers:write'),
  'POST /api/v1/transfers/:id/finalize': scope('transfers:write'),
  'PUT /api/v1/transfers/:id/finalize': scope('transfers:write'),
  'POST /api/v1/transfers/:id/files': scope('files:write'),
  'GET /api/v1/transfers/:id/files': scope('files:read'),
  'PUT /api/v1/transfers/:id/files/:fileId/content': scope('files:write'),
  'GET /api/v1/transfers/:id/download.zip': scope('files:read'),
  'GET /api/v1/files/:id': scope('files:read'),
  'DELETE /api/v1/files/:id': scope('files:write'),
  'GET /api/v1/files/:id/download': scope('files:read'),
  'GET /api/v1/transfers/:id/files/:fileId/upload-url/:partNumber': scope('files:write'),
  'PUT /api/v1/transfers/:id/files/:fileId/parts/:partNumber': scope('files:write'),
  'PUT /api/v1/transfers/:id/files/:fileId/upload-complete': scope('files:write'),
  'POST /api/v1/upload-chunk': scope('files:write'),
  'OPTIONS /api/v1/uploads': PUBLIC,
  'OPTIONS /api/v1/uploads/:id': PUBLIC,
  'POST /api/v1/uploads': scope('files:write'),
  'HEAD /api/v1/uploads/:id': scope('files:write'),
  'PATCH /api/v1/uploads/:id': scope('files:write'),
  'DELETE /api/v1/uploads/:id': scope('files:write'),
  'POST /api/v1/uploads/:id': scope('files:write'),
  'GET /api/v1/transfers/:id/recipients': scope('transfers:read'),
  'POST /api/v1/transfers/:id/recipients': scope('transfers:write'),
  'DELETE /api/v1/transfers/:id/recipients/:rid': scope('transfers:write'),
  'POST /api/v1/transfers/:id/recipients/:rid/resend': scope('transfers:write'),
  'GET /api/v1/transfers/:id/receipts': scope('transfers:read'),
  'GET /api/v1/public/transfers/:slug': PUBLIC,
  'POST /api/v1/public/transfers/:slug/unlock': PUBLIC,
  // File requests: the router keeps one node for the owner's :id and the link's :token.
  'POST /api/v1/file-requests': scope('requests:write'),
  'GET /api/v1/file-requests': scope('requests:read'),
  'GET /api/v1/file-requests/:id|:token': scope('requests:read'),
  'PATCH /api/v1/file-requests/:id|:token': scope('requests:write'),
  'DELETE /api/v1/file-requests/:id|:token': scope('requests:write'),
  'POST /api/v1/file-requests/:id|:token/link': scope('requests:write'),
  'GET /api/v1/file-requests/:id|:token/transfers': scope('requests:read'),
  'POST /api/v1/file-requests/:id|:token/transfers': PUBLIC,
  'GET /api/v1/public/file-requests/:token': PUBLIC,
  'POST /api/v1/webhooks': scope('webhooks:write'),
  'GET /api/v1/webhooks': scope('webhooks:read'),
  'GET /api/v1/webhooks/:id': scope('webhooks:read'),
  'PATCH /api/v1/webhooks/:id': scope('webhooks:write'),
  'DELETE /api/v1/webhooks/:id': scope('webhooks:write'),
  'POST /api/v1/webhooks/:id/rotate-secret': scope('webhooks:write'),
  'POST /api/v1/webhooks/:id/test': scope('webhooks:write'),
  'GET /api/v1/webhooks/:id/deliveries': scope('webhooks:read'),
  'POST /api/v1/webhooks/deliveries/:id/redeliver': scope('webhooks:write'),
  'GET /api/v1/transfers/:id/analytics': scope('analytics:read'),
  'GET /api/v1/files/:id/analytics': scope('analytics:read'),
  'GET /api/v1/analytics/user': scope('analytics:read'),
  'GET /api/v1/reports': scope('analytics:read'),
  'POST /api/v1/reports/schedules': scope('analytics:read'),
  'GET /api/v1/reports/schedules': scope('analytics:read'),
  'DELETE /api/v1/reports/schedules/:id': scope('analytics:read'),
  'POST /api/v1/speed-tests': scope('speed:write'),
  'GET /api/v1/speed-tests': scope('speed:read'),
  'GET /api/v1/speed-tests/:id': scope('speed:read'),
  'DELETE /api/v1/speed-tests/:id': scope('speed:write'),
  'GET /api/v1/speed-tests/public': PUBLIC,
  // The measurement endpoints move real bytes: only with the key that stores the result.
  'GET /api/v1/speed-tests/ping': scope('speed:write'),
  'GET /api/v1/speed-tests/download': scope('speed:write'),
  'POST /api/v1/speed-tests/upload': scope('speed:write'),
};

/** Routes outside /api that need credentials (curl -T on /): the guard runs on them because they declare auth. */
const GUARDED_ROOT_ROUTES = ['PUT /', 'PUT /:name'];

/** Routes outside /api: public by design, except the guarded ones above. */
const OTHER_ROUTES = [
  ...GUARDED_ROOT_ROUTES,
  'GET /healthz',
  'GET /readyz',
  'GET /openapi.json',
  'GET /docs',
  'GET /docs/static/index.html',
  'GET /docs/static/swagger-initializer.js',
  'GET /docs*',
  'GET /docs/json',
  'GET /docs/yaml',
  'GET /t/:slug',
  'POST /t/:slug/unlock',
  'GET /t/:slug/files/:fileId',
  'GET /t/:slug/download.zip',
  'GET /r/:token',
  'GET /d/:token',
  'POST /d/:token/unlock',
  'GET /d/:token/files/:fileId',
  'GET /d/:token/download.zip',
];

/** Every (method, path) the router holds, read from `printRoutes` (HEAD twins of GET routes folded in). */
function registeredRoutes(app: App): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack[depth] = match[2]!;
    const path = stack.join('');
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) routes.push({ method, path });
  }
  return routes;
}

const HAS_GET = (routes: { method: string; path: string }[], path: string) => routes.some((r) => r.method === 'GET' && r.path === path);

function concrete(path: string): string {
  return path
    .replace(/\/keys\/:id/, `/keys/${ghostId('key')}`)
    .replace(/\/users\/:id/, `/users/usr_${'A'.repeat(22)}`)
    .replace(/\/transfers\/:id/, `/transfers/${ghostId('tr')}`)
    .replace(/\/files\/:id/, `/files/${ghostId('fl')}`)
    .replace(/\/speed-tests\/:id/, `/speed-tests/${ghostId('spd')}`)
    .replace(/:fileId/, ghostId('fl'))
    .replace(/:partNumber/, '1')
    .replace(/:rid/, `rcp_${'A'.repeat(22)}`)
    .replace(/\/schedules\/:id/, `/schedules/rsc_${'A'.repeat(22)}`)
    .replace(/:slug/, 'no-such-link')
    .replace(/:id\|:token/, `frq_${'A'.repeat(22)}`)
    .replace(/:token/, 'A'.repeat(32));
}

let h: Harness;
let routes: { method: string; path: string }[];
/** For each scope, a key holding every scope but that one. */
const lacking = new Map<string, string>();
/** A key holding every scope (admin included). */
let full: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: '100000' });
  const admin = await createAccount(h.app, 'admin@example.com');
  for (const missing of SCOPES) {
    const { key } = await createKey(h.app, admin, { name: `without ${missing}`, scopes: SCOPES.filter((s) => s !== missing) });
    lacking.set(missing, key);
  }
  ({ key: full } = await createKey(h.app, admin, { name: 'every scope', scopes: [...SCOPES] }));
  routes = registeredRoutes(h.app);
});
afterAll(() => h.close());

describe('D59. the route table', () => {
  it('D59: every registered route is in the expected access table, and nothing more', () => {
    const seen = routes
      .filter((r) => !(r.method === 'HEAD' && HAS_GET(routes, r.path)))
      .map((r) => `${r.method} ${r.path}`);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((r) => r.includes(' /api/')).sort()).toEqual(Object.keys(API_ROUTES).sort());
    expect(seen.filter((r) => !r.includes(' /api/')).sort()).toEqual([...OTHER_ROUTES].sort());
  });

  it('D59: every guarded /api/v1 route answers 401 missing_token without credentials (HEAD too)', async () => {
    const ruleOf = (r: { method: string; path: string }) => API_ROUTES[`${r.method} ${r.path}`] ?? API_ROUTES[`GET ${r.path}`] ?? PUBLIC;
    const guarded = routes.filter((r) => r.path.startsWith('/api/') && !('public' in ruleOf(r)));
    expect(guarded.length).toBeGreaterThan(30);
    for (const { method, path } of guarded) {
      const res = await h.app.inject({ method: method as 'GET', url: concrete(path) });
      expect({ route: `${method} ${path}`, status: res.statusCode }).toEqual({ route: `${method} ${path}`, status: 401 });
      if (method !== 'HEAD') expectError(res, 401, 'missing_token');
    }
  });

  it('D59: only sign-up, sign-in, sign-out, the public link routes and the public speed tests answer without credentials', async () => {
    for (const [route, rule] of Object.entries(API_ROUTES).filter(([, rule]) => 'public' in rule)) {
      const [method, path] = route.split(' ') as [string, string];
      const res = await h.app.inject({ method: method as 'GET', url: concrete(path) });
      expect({ route, rule, status: res.statusCode }).not.toMatchObject({ status: 401 });
      expect(res.statusCode).not.toBe(403);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(Object.entries(API_ROUTES).filter(([, rule]) => 'public' in rule).map(([r]) => r)).toEqual([
      'POST /api/v1/auth/signup',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/logout',
      'OPTIONS /api/v1/uploads',
      'OPTIONS /api/v1/uploads/:id',
      'GET /api/v1/public/transfers/:slug',
      'POST /api/v1/public/transfers/:slug/unlock',
      'POST /api/v1/file-requests/:id|:token/transfers',
      'GET /api/v1/public/file-requests/:token',
      'GET /api/v1/speed-tests/public',
    ]);
  });

  it('D59: a key lacking the route\'s scope answers 403 insufficient_scope naming that scope', async () => {
    for (const [route, rule] of Object.entries(API_ROUTES)) {
      if (!('scope' in rule)) continue;
      const [method, path] = route.split(' ') as [string, string];
      const res = await h.app.inject({ method: method as 'GET', url: concrete(path), headers: bearer(lacking.get(rule.scope)!) });
      expect({ route, status: res.statusCode }).toEqual({ route, status: 403 });
      if (method !== 'HEAD') expect(expectError(res, 403, 'insufficient_scope').required_scope).toBe(rule.scope);
    }
  });

  it('D59: a key holding the scope gets past the guard (no 401/403) on every guarded route', async () => {
    for (const [route, rule] of Object.entries(API_ROUTES)) {
      if (!('scope' in rule)) continue;
      const [method, path] = route.split(' ') as [string, string];
      const res = await h.app.inject({ method: method as 'GET', url: concrete(path), headers: bearer(full) });
      expect({ route, passedGuard: ![401, 403].includes(res.statusCode) && res.statusCode < 500 }).toEqual({ route, passedGuard: true });
    }
  });

  it('D59: the one-request upload on / needs a key with files:write (401 without, 403 with a key lacking it)', async () => {
    for (const route of GUARDED_ROOT_ROUTES) {
      const url = route.replace(':name', 'report.txt').split(' ')[1]!;
      expectError(await h.app.inject({ method: 'PUT', url, payload: 'x' }), 401, 'missing_token');
      const res = await h.app.inject({ method: 'PUT', url, payload: 'x', headers: bearer(lacking.get('files:write')!) });
      expect(expectError(res, 403, 'insufficient_scope').required_scope).toBe('files:write');
    }
  });

  it('J113: unknown and old API paths are 404 not_found, with or without a key', async () => {
    const key = full;
    for (const url of ['/api/v0/transfers', '/api/v1/debug', '/api/v1/metrics', '/api/v2/transfers', '/api/v1/admin/config', '/metrics']) {
      expectError(await h.app.inject({ method: 'GET', url }), 404, 'not_found');
      expectError(await h.app.inject({ method: 'GET', url, headers: bearer(key) }), 404, 'not_found');
    }
  });
});

import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { openRuntime } from './runtime.ts';
import { createServices } from './services/services.ts';
import { createRepositories } from './repositories/repositories.ts';
import { systemClock } from './domain/clock.ts';
import { scopesForUser } from './domain/scopes.ts';
import { ADMIN_COMMANDS, ADMIN_USAGE, runAdminCommand } from './admin-cli-commands.ts';

const USAGE = `Ferry operator commands (no browser needed):
  npm run admin -- create-user --email E [--password P] [--name N] [--admin]
  npm run admin -- create-key --email E --scopes a,b [--name N]
  npm run admin -- create-invite
${ADMIN_USAGE}`;

/** Operator CLI: talks to the same database and services as the server, prints what it made once. */
async function run(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      admin: { type: 'boolean', default: false },
      scopes: { type: 'string' },
      id: { type: 'string' },
      q: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      'user-id': { type: 'string' },
      state: { type: 'string' },
      'expires-at': { type: 'string' },
      'extend-days': { type: 'string' },
      never: { type: 'boolean' },
      yes: { type: 'boolean' },
    },
  });
  if (!command || ![...['create-user', 'create-key', 'create-invite'], ...ADMIN_COMMANDS].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const runtime = await openRuntime(config);
  const { database, stores, secret, redis } = runtime;
  const services = createServices({ config, db: database.db, stores, clock: systemClock, secret, redis });
  try {
    if (ADMIN_COMMANDS.includes(command)) {
      const answer = await runAdminCommand(command, values, services, createRepositories(database.db));
      process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    } else if (command === 'create-user') {
      if (!values.email) throw new Error('--email is required');
      const generated = values.password === undefined;
      const password = values.password ?? (await import('./ids.ts')).randomBase62(20);
      const user = await services.auth.createUser({ email: values.email, password, name: values.name ?? null, isAdmin: values.admin === true });
      if (!user) throw new Error(`an account for ${values.email} already exists`);
      process.stdout.write(`created user ${user.id} <${user.email}>${user.is_admin ? ' (admin)' : ''}\n`);
      if (generated) process.stdout.write(`password: ${password}\n`);
    } else if (command === 'create-key') {
      if (!values.email || !values.scopes) throw new Error('--email and --scopes are required');
      const user = await createRepositories(database.db).users.findByEmail(values.email.trim().toLowerCase());
      if (!user) throw new Error(`no account for ${values.email}`);
      const owner = { userId: user.id, scopes: scopesForUser(user.is_admin === 1), via: 'session' as const };
      const scopes = values.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const { row, key } = await services.keys.create(owner, { name: values.name ?? 'admin-cli', scopes });
      process.stdout.write(`created key ${row.id} (${JSON.parse(row.scopes).join(', ')})\n${key}\n`);
    } else {
      const invite = await services.auth.createInvite(null);
      process.stdout.write(`invite (valid until ${invite.expiresAt.toISOString()}):\n${invite.token}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await runtime.close();
  }
}

run().then((code) => process.exit(code));

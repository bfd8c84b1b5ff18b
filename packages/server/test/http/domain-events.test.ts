import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError } from '../support/http.ts';
import { emittedEvents } from '../support/events.ts';

/** Domain events are written with the change that causes them, once, and carry no secrets. */
let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_PURGE_GRACE: '0' });
  ({ key } = await createAccount(h.app, 'events@example.com'));
});
afterAll(() => h.close());

describe('domain events', () => {
  it('follow a transfer from creation to deletion, each once', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content: bytes(1000) }, { name: 'b.txt', content: 'bee' }], { password: 'hunter2 secret' });
    const id = t.transfer.id;
    // A second finalize changes nothing and says nothing.
    expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${id}/finalize`, headers: bearer(key) }));
    expectData(await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${id}`, headers: bearer(key), payload: { title: 'Renamed', password: 'another one' } }));
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${id}`, headers: bearer(key) })).statusCode).toBe(204);
    const mine = (await emittedEvents(h)).filter((e) => (e.data.transfer?.id ?? null) === id);
    expect(mine.map((e) => e.type)).toEqual(['transfer.created', 'file.uploaded', 'file.uploaded', 'transfer.ready', 'transfer.updated', 'transfer.deleted']);
    const updated = mine.find((e) => e.type === 'transfer.updated')!;
    expect(updated.data.changed.sort()).toEqual(['password', 'title']);
    expect(updated.data.transfer).toMatchObject({ title: 'Renamed', password_protected: true });
    const text = JSON.stringify(mine);
    for (const secret of ['hunter2', 'another one', 'argon2', t.link.slice(3), 'fyu_']) expect(text).not.toContain(secret);
    // Dispatching them succeeds and leaves them done.
    await h.jobs.drain();
    const states = await h.database.db.selectFrom('jobs').select('state').where('kind', '=', 'event.dispatch').execute();
    expect(states.every((s) => s.state === 'done')).toBe(true);
  });

  it('report expiry from the sweep and failed password guesses', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'x.bin', content: bytes(10) }], { password: 'right one', expires_at: new Date(Date.now() + 3600_000).toISOString() });
    const slug = t.link.replace('/t/', '');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/public/transfers/${slug}/unlock`, payload: { password: 'wrong' } }), 401, 'invalid_password');
    h.clock.advance(3700_000);
    await h.sweeper.sweep();
    await h.sweeper.sweep();
    const events = (await emittedEvents(h)).filter((e) => e.data.transfer?.id === t.transfer.id);
    expect(events.filter((e) => e.type === 'transfer.expired')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'transfer.password_failed')).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain('wrong');
  });

  it('report a key in use at most once a minute, however many requests race', async () => {
    const fresh = await createAccount(h.app, 'keyuse@example.com');
    await Promise.all(Array.from({ length: 10 }, () => h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(fresh.key) })));
    const used = () => emittedEvents(h, 'api_key.used').then((all) => all.filter((e) => e.data.api_key.prefix === fresh.key.split('_')[1]));
    expect(await used()).toHaveLength(1);
    h.clock.advance(61_000);
    await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(fresh.key) });
    expect(await used()).toHaveLength(2);
    expect(JSON.stringify(await used())).not.toContain(fresh.key);
  });
});

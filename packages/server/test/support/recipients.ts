import type { Harness } from './harness.ts';
import { bearer } from './client.ts';
import { expectData } from './http.ts';

/**
 * Reading a transfer's recipients, receipts and the jobs and events they caused, as the owner
 * sees them (the API) or as they are stored (the jobs table).
 */
export function recipientReads(h: Harness, key: string) {
  /** GET .../recipients, every one, once every download being settled is written. */
  async function recipients(transferId: string): Promise<any[]> {
    await h.app.services.receipts.idle();
    return expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/recipients?limit=100`, headers: bearer(key) }));
  }

  /** GET .../receipts once every receipt being settled is written; `query` starts with "&". */
  async function receipts(transferId: string, query = ''): Promise<any[]> {
    await h.app.services.receipts.idle();
    return expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/receipts?limit=100${query}`, headers: bearer(key) }));
  }

  /** Payloads of the jobs of `kind` written so far, oldest first. */
  async function jobs(kind: string): Promise<any[]> {
    const rows = await h.database.db.selectFrom('jobs').select(['payload']).where('kind', '=', kind).orderBy('created_at').execute();
    return rows.map((r) => JSON.parse(r.payload));
  }

  /** Domain events about one transfer (its event.dispatch jobs), oldest first. */
  async function eventsOf(transferId: string): Promise<{ type: string; data: any }[]> {
    await h.app.services.receipts.idle();
    return (await jobs('event.dispatch')).filter((e) => e.data?.transfer?.id === transferId).map((e) => ({ type: e.type, data: e.data }));
  }

  /** The recipient emails queued for one recipient (job kind email.recipient_ready). */
  const recipientEmailJobs = async (recipientId: string) => (await jobs('email.recipient_ready')).filter((p) => p.recipientId === recipientId);

  return { recipients, receipts, jobs, eventsOf, recipientEmailJobs };
}

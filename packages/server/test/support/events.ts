import type { Harness } from './harness.ts';

export interface EmittedEvent {
  id: string;
  type: string;
  userId: string;
  data: any;
}

/** Every domain event written so far (dispatch jobs, whatever their state), oldest first. */
export async function emittedEvents(h: Pick<Harness, 'database'>, type?: string): Promise<EmittedEvent[]> {
  const rows = await h.database.db.selectFrom('jobs').select(['payload', 'created_at']).where('kind', '=', 'event.dispatch').orderBy('created_at').execute();
  const events = rows.map((r) => JSON.parse(r.payload) as EmittedEvent);
  return type ? events.filter((e) => e.type === type) : events;
}

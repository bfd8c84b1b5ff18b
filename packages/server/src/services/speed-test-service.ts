import { newId } from '../ids.ts';
import { fail } from '../errors.ts';
import type { Db } from '../db/database.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import { speedTestData } from '../events/event-data.ts';
import type { SpeedTestRow, SpeedTestsRepository } from '../repositories/speed-tests-repository.ts';
import { checkSpeedTest, type SpeedTestInput } from './speed-test-input.ts';

export interface Page<T> {
  rows: T[];
  total: number;
}

/**
 * Stored speed test results: an account's own history (results of another account are not
 * found), and the results their submitters marked public, which anyone may list.
 */
export class SpeedTestService {
  constructor(
    private readonly db: Db,
    private readonly speedTests: SpeedTestsRepository,
    private readonly events: DomainEvents,
    private readonly clock: Clock,
  ) {}

  /** Stores a result; `speed_test.submitted` is written in the same transaction. */
  async create(userId: string, input: SpeedTestInput): Promise<SpeedTestRow> {
    const row: SpeedTestRow = { id: newId('spd'), user_id: userId, ...checkSpeedTest(input), created_at: iso(this.clock.now()) };
    await this.db.transaction().execute(async (tx) => {
      await this.speedTests.insert(row, tx);
      await this.events.emit('speed_test.submitted', userId, { speed_test: speedTestData(row) }, tx);
    });
    return row;
  }

  async list(userId: string, limit: number, offset: number): Promise<Page<SpeedTestRow>> {
    const [rows, total] = await Promise.all([this.speedTests.listForUser(userId, limit, offset), this.speedTests.countForUser(userId)]);
    return { rows, total };
  }

  async get(userId: string, id: string): Promise<SpeedTestRow> {
    const row = await this.speedTests.findForUser(userId, id);
    if (!row) throw fail.not_found('Speed test not found.');
    return row;
  }

  async delete(userId: string, id: string): Promise<void> {
    if (!(await this.speedTests.delete(userId, id))) throw fail.not_found('Speed test not found.');
  }

  /** Every account's public results, newest first; the caller shows them without their owner. */
  async listPublic(limit: number, offset: number): Promise<Page<SpeedTestRow>> {
    const [rows, total] = await Promise.all([this.speedTests.listPublic(limit, offset), this.speedTests.countPublic()]);
    return { rows, total };
  }
}

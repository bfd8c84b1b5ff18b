/**
 * Whether `error` is the database refusing a duplicate in a unique column or index whose name
 * contains `column`, on SQLite (better-sqlite3) or PostgreSQL. Races for a unique value are
 * settled by the constraint; this tells the loser apart from a real failure.
 */
export function isUniqueViolation(error: unknown, column: string): boolean {
  const e = error as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE') return String(e.message).includes(column);
  if (e?.code === '23505') return String(e.constraint ?? e.message).includes(column);
  return false;
}

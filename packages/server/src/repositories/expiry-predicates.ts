import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * domain/expiry.ts's rule as SQL, for `where` clauses: a deadline column is past from its own
 * instant on; a null deadline never passes. `column` is a column name, optionally table-qualified.
 */
export const expiredAt = (column: string, nowIso: string): RawBuilder<SqlBool> =>
  sql<SqlBool>`(${sql.ref(column)} is not null and ${sql.ref(column)} <= ${nowIso})`;

/** The complement of expiredAt: no deadline, or one still ahead. */
export const liveAt = (column: string, nowIso: string): RawBuilder<SqlBool> =>
  sql<SqlBool>`(${sql.ref(column)} is null or ${sql.ref(column)} > ${nowIso})`;

/** Rows made at or before `edgeIso` (domain/expiry.ts lifetimeEdge) have outlived their lifetime. */
export const outlived = (createdColumn: string, edgeIso: string): RawBuilder<SqlBool> => sql<SqlBool>`${sql.ref(createdColumn)} <= ${edgeIso}`;

/** The complement of outlived: made after `edgeIso`, so still within their lifetime. */
export const withinLifetime = (createdColumn: string, edgeIso: string): RawBuilder<SqlBool> => sql<SqlBool>`${sql.ref(createdColumn)} > ${edgeIso}`;

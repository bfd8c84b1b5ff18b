import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const base: Options = { allErrors: false, strict: false, useDefaults: true, removeAdditional: false };

/**
 * Bodies are validated strictly: no type coercion ("100", true and 1e3 are not sizes) and unknown
 * fields are errors, not silently dropped (mass assignment, docs/security-checklist.md D60). Query strings, params
 * and headers arrive as text, so those coerce scalars.
 */
const strictAjv = addFormats(new Ajv({ ...base, coerceTypes: false }));
const coercingAjv = addFormats(new Ajv({ ...base, coerceTypes: true }));

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;

/** Deepest JSON nesting accepted; deeper input would blow the stack in later recursive walks (docs/security-checklist.md I97). */
export const MAX_JSON_DEPTH = 32;

/** Nesting depth of a JSON text, counted without parsing (brackets inside strings ignored). */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

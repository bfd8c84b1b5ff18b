import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';
import { startHarness, type Harness } from '../support/harness.ts';

describe('OpenAPI document', () => {
  let h: Harness;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: unknown; summary?: string }>>;
    components: { schemas: Record<string, unknown> };
  };
  beforeAll(async () => {
    h = await startHarness();
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(async () => h.close());

  it('is OpenAPI 3.1 with the shared schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['ErrorEnvelope', 'Transfer', 'File', 'ApiKey']));
  });

  it('documents every API route with a summary, a success response and error responses', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    expect(operations.length).toBeGreaterThan(25);
    for (const { path, method, op } of operations) {
      const statuses = Object.keys(op.responses ?? {});
      expect(op.summary, `${method} ${path} summary`).toBeTruthy();
      // A success is 2xx, or the 303 of an HTML form that returns to its page.
      expect(statuses.some((s) => s.startsWith('2') || s === '303'), `${method} ${path} success`).toBe(true);
      if (path.startsWith('/api/')) expect(statuses, `${method} ${path} errors`).toContain('500');
    }
  });

  it('lists every error code in the error envelope', () => {
    const envelope = doc.components.schemas.ErrorEnvelope as { properties: { error: { properties: { code: { enum: string[] } } } } };
    expect(envelope.properties.error.properties.code.enum).toEqual(ERROR_CODES);
  });

  it('documents request bodies where routes take JSON', () => {
    expect(doc.paths['/api/v1/transfers']!.post!.requestBody).toBeDefined();
    expect(doc.paths['/api/v1/keys']!.post!.requestBody).toBeDefined();
    expect(doc.paths['/api/v1/transfers/{id}']!.patch!.requestBody).toBeDefined();
  });

  it('documents the download page\'s password form with its urlencoded body', () => {
    const form = doc.paths['/t/{slug}/unlock']!.post!;
    expect(form.requestBody).toMatchObject({ content: { 'application/x-www-form-urlencoded': { schema: { required: ['password'] } } } });
    expect(Object.keys(form.responses!)).toEqual(expect.arrayContaining(['303', '401', '429']));
  });

  it('documents the four ways to upload, each with an example', () => {
    const uploads = (doc as unknown as { tags: { name: string; description: string }[] }).tags.find((t) => t.name === 'uploads')!;
    for (const example of ['/api/v1/uploads', 'upload-url/', 'upload-complete', '/api/v1/upload-chunk', 'curl -T ./report.pdf']) {
      expect(uploads.description).toContain(example);
    }
    for (const path of ['/api/v1/uploads', '/api/v1/uploads/{id}', '/api/v1/upload-chunk', '/api/v1/transfers/{id}/files/{fileId}/upload-url/{partNumber}']) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it('states the password rules the server applies, and the server applies them', async () => {
    type Schema = { properties: Record<string, { minLength?: number; maxLength?: number; description?: string }> };
    const bodyOf = (path: string, method: string) =>
      (doc.paths[path]![method]!.requestBody as { content: Record<string, { schema: Schema }> }).content['application/json']!.schema.properties;
    const signup = bodyOf('/api/v1/auth/signup', 'post').password!;
    expect(signup.minLength).toBe(8);
    expect(signup.maxLength).toBeUndefined();
    expect(signup.description).toMatch(/at most 1024 bytes in UTF-8/);
    for (const [path, method] of [['/api/v1/auth/login', 'post'], ['/api/v1/transfers', 'post'], ['/api/v1/transfers/{id}', 'patch']] as const) {
      const schema = JSON.stringify(bodyOf(path, method).password);
      expect(schema, `${method} ${path}`).toMatch(/at most 1024 bytes in UTF-8/);
      expect(schema, `${method} ${path}`).not.toMatch(/maxLength/);
    }

    const signUp = (email: string, password: string) => h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email, password } });
    expect((await signUp('seven@example.com', '1234567')).statusCode).toBe(400);
    expect((await signUp('eight@example.com', '12345678')).statusCode).toBe(202);
    expect((await signUp('emoji@example.com', '🔑'.repeat(8))).statusCode).toBe(202); // 8 code points, 16 UTF-16 units
    expect((await signUp('bytes@example.com', 'é'.repeat(513))).statusCode).toBe(413); // 513 characters, 1026 bytes
    expect((await signUp('ascii@example.com', 'p'.repeat(1024))).statusCode).toBe(202);
  });

  it('serves interactive docs at /docs', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('serves interactive docs at /docs', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

import { describe, expect, it } from 'vitest';
import { prefersHtml } from './error-pages.ts';

describe('prefersHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7', true],
    ['TEXT/HTML', true],
    ['text/*, application/json;q=0.5', true],
  ])('a browser-like %j gets pages', (accept) => {
    expect(prefersHtml(accept)).toBe(true);
  });

  it.each([
    [undefined],
    [''],
    ['*/*'],
    ['application/json'],
    ['application/json, text/html'],
    ['text/html;q=0.5, application/json'],
    ['text/html;q=0, */*'],
    ['text/html;q=nonsense'],
    ['application/*, text/html;q=0.9'],
  ])('%j keeps the JSON envelope', (accept) => {
    expect(prefersHtml(accept)).toBe(false);
  });
});

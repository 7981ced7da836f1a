import { describe, expect, it } from 'vitest';
import { mergeDiff } from './import-replay.js';

describe('mergeDiff', () => {
  it('sends only what changed, with null for fields to remove', () => {
    expect(mergeDiff({ a: 1, b: { x: 1, y: 2 }, c: [1] }, { a: 1, b: { x: 1 }, c: [1, 2] })).toEqual({ b: { y: null }, c: [1, 2] });
  });

  it('is empty when nothing differs', () => {
    expect(mergeDiff({ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2 }] } })).toEqual({});
  });

  it('gives up (so the caller sends PUT) when a nested null would be lost by merge patch', () => {
    expect(mergeDiff({ body: { q: 'x' } }, { body: { q: 'x', keep: null } })).toBeUndefined();
  });

  it('replaces a top-level value with null itself, which merge patch can say', () => {
    expect(mergeDiff({ url: 'https://x.example.com' }, { url: null })).toEqual({ url: null });
  });
});

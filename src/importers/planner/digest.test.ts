import { describe, expect, it } from 'vitest';
import { canonicalJson, digest } from './digest.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops white space', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], '\u20ac': 1, '\r': 2 })).toBe('{"\\r":2,"a":[true,null,"x"],"b":1,"€":1}');
  });

  it('writes numbers in their shortest ECMAScript form', () => {
    expect(canonicalJson([1.0, 1e21, 0.1, -0, 333333333.33333329])).toBe('[1,1e+21,0.1,0,333333333.3333333]');
  });
});

describe('digest', () => {
  it('is the same for the same value whatever the key order', () => {
    expect(digest({ a: 1, b: { c: 2, d: 3 } })).toBe(digest({ b: { d: 3, c: 2 }, a: 1 }));
  });

  it('is SHA-256 hex of the canonical bytes', () => {
    // sha256('{"a":1}')
    expect(digest({ a: 1 })).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });
});

import { describe, expect, it } from 'vitest';
import { View, type ToolEntry } from './catalog.js';
import { findTools, listedTools, stem, ToolIndex, tokenize } from './tool-search.js';

const tool = (name: string, description: string): ToolEntry => ({ name, fields: { name }, descriptor: { name, description, inputSchema: { type: 'object' } }, gateway: null, originalName: name });
const names = (index: ToolIndex, query: string) => index.find(query, 5).map((h) => h.name);

describe('ToolIndex', () => {
  it('splits names at underscores, dashes and camelCase, and stems plurals', () => {
    expect(tokenize('repos_listForOrg get-sum')).toEqual(['repos', 'list', 'for', 'org', 'get', 'sum']);
    expect(['repositories', 'branches', 'starring', 'issues'].map(stem)).toEqual(['repository', 'branch', 'star', 'issue']);
  });

  it('follows an updated list: removed tools vanish, changed ones are found by their new text, new ones appear', () => {
    const index = new ToolIndex([tool('a_weather', 'forecast the weather'), tool('b_invoice', 'bill a customer'), tool('c_stock', 'stock prices')]);
    expect(names(index, 'weather forecast')[0]).toBe('a_weather');
    index.update([tool('b_invoice', 'refund a paid bill'), tool('c_stock', 'stock prices'), tool('d_mail', 'send an email')]);
    expect(names(index, 'weather forecast')).toEqual([]);
    expect(names(index, 'refund')).toEqual(['b_invoice']);
    expect(names(index, 'send email')[0]).toBe('d_mail');
  });

  it('never lets an older snapshot of an endpoint roll its index back', () => {
    const older = [tool('x_old', 'ancient scroll')];
    const newer = [tool('x_new', 'modern scroll')];
    const oldView = new View('srv', { name: 'srv' }, older, [], [], [], 100, listedTools({}, older));
    const newView = new View('srv', { name: 'srv' }, newer, [], [], [], 100, listedTools({}, newer));
    const hits = (view: View) => (findTools(view, { query: 'scroll' }).structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(hits(newView)).toEqual(['x_new']);
    expect(hits(oldView)).toEqual(['x_old']);
    expect(hits(newView)).toEqual(['x_new']);
  });
});

import { describe, expect, it } from 'vitest';
import { fromContextForge } from './contextforge.js';

describe('ContextForge files', () => {
  it('reads camelCase fields, tag objects and prompt arguments', () => {
    const { document, notes } = fromContextForge({
      entities: {
        tools: [{ name: 'x', url: 'https://x.example.com', requestType: 'post', isActive: false, tags: [{ id: '1', label: 'env=prod' }], authType: 'authheaders', authValue: 'abc' }],
        prompts: [{ name: 'p', template: 't', arguments: [{ name: 'text', description: 'the text', required: true }] }],
      },
    });
    expect((document.tools as unknown[])[0]).toEqual({
      name: 'x', url: 'https://x.example.com', request_type: 'POST', is_active: false, tags: ['env=prod'], integration_type: 'REST', auth_type: 'headers', auth_value: 'abc',
    });
    expect((document.prompts as { input_schema: unknown }[])[0]!.input_schema).toEqual({
      type: 'object', properties: { text: { type: 'string', description: 'the text' } }, required: ['text'],
    });
    expect(notes).toEqual([]);
  });

  it('renames names this gateway does not accept and follows them in server tool_ids', () => {
    const { document, notes } = fromContextForge({ entities: { tools: [{ name: 'Get Weather!', url: 'https://w.example.com' }], servers: [{ name: 's', tool_ids: ['Get Weather!'] }] } });
    expect((document.tools as { name: string }[])[0]!.name).toBe('Get_Weather_');
    expect((document.servers as { tools: string[] }[])[0]!.tools).toEqual(['Get_Weather_']);
    expect(notes).toContain('tool "Get Weather!" is named "Get_Weather_" here (names are A-Z, a-z, 0-9, "_" and "-")');
  });

  it('reports fields and entities it cannot carry', () => {
    const { notes } = fromContextForge({ entities: { gateways: [{ name: 'g', url: 'https://g.example.com', passthrough_headers: ['X-A'] }], roots: [{ uri: 'file:///a' }, { uri: 'file:///b' }], a2a_agents: [] } });
    expect(notes).toEqual(['2 roots not carried: this gateway has no roots', 'entities.a2a_agents not carried: no counterpart here', 'gateways: fields not carried (no counterpart here): passthrough_headers']);
  });
});

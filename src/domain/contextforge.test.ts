import { describe, expect, it } from 'vitest';
import { contextForgeSlug, fromContextForge } from './contextforge.js';

// Hand-written: only what the real files in ../shared/interop/contextforge (read by
// test/contextforge-interop.test.ts) do not contain — camelCase keys, older prompt `arguments`,
// MCP tools, a gateway without `transport`, a masked auth_value, names that need slugging,
// resource `content`, several query parameters.
describe('ContextForge files: cases the real files lack', () => {
  it('reads camelCase fields, tag objects and prompt arguments; prompt names as ContextForge served them', () => {
    const { document, notes } = fromContextForge({
      entities: {
        tools: [{ name: 'x', url: 'https://x.example.com', requestType: 'post', isActive: false, tags: [{ id: '1', label: 'env=prod' }], authType: 'authheaders', authValue: 'abc' }],
        prompts: [{ name: 'p', customName: 'Write Report', displayName: 'Write a report', template: 't', arguments: [{ name: 'text', description: 'the text', required: true }] }],
      },
    });
    expect((document.tools as unknown[])[0]).toEqual({
      name: 'x', url: 'https://x.example.com', request_type: 'POST', is_active: false, tags: ['env=prod'], integration_type: 'REST', auth_type: 'headers', auth_value: 'abc',
    });
    expect((document.prompts as Record<string, unknown>[])[0]).toMatchObject({
      name: 'write-report',
      title: 'Write a report',
      input_schema: { type: 'object', properties: { text: { type: 'string', description: 'the text' } }, required: ['text'] },
    });
    expect(notes).toEqual([{ path: '$.entities.prompts[0].name', message: expect.stringContaining('prompt "p" is named "write-report" here') }]);
  });

  it('defaults a gateway without transport to SSE, as ContextForge\'s GatewayCreate does', () => {
    const { document } = fromContextForge({ entities: { gateways: [{ name: 'g', url: 'https://g.example.com' }] } });
    expect((document.gateways as { transport: string }[])[0]!.transport).toBe('sse');
  });

  it('drops a masked auth_value and lists the object to re-enter, with the path in the file', () => {
    const { document, warnings, reenter } = fromContextForge({ entities: { gateways: [{ name: 'g', url: 'https://g.example.com', auth_type: 'bearer', auth_value: '*****' }] } });
    expect((document.gateways as Record<string, unknown>[])[0]).not.toHaveProperty('auth_value');
    expect(reenter).toEqual([{ kind: 'gateways', key: 'g', path: '$.entities.gateways[0]', auth_type: 'bearer', reason: 'its auth_value is masked ("*****")' }]);
    expect(warnings[0]!.path).toBe('$.entities.gateways[0].auth_value');
  });

  it('carries the first query parameter credential and reports the others', () => {
    const { document, notes } = fromContextForge({ entities: { gateways: [{ name: 'g', url: 'https://g.example.com', auth_type: 'query_param', auth_query_params: { a: 'enc-a', b: 'enc-b' } }] } });
    expect((document.gateways as Record<string, unknown>[])[0]).toMatchObject({ auth_type: 'query_param', auth_value: 'enc-a' });
    expect(notes.map((n) => n.path)).toContain('$.entities.gateways[0].auth_query_params');
  });

  it('skips MCP tools (their gateway brings them), resolves server tool_ids by id, original name and slug, keeps the rest', () => {
    const { document, notes } = fromContextForge({
      entities: {
        tools: [
          { id: 'u-1', name: 'Get Weather!', url: 'https://w.example.com' },
          { name: 'remote', integration_type: 'MCP', url: 'https://m.example.com' },
        ],
        servers: [{ name: 's', tool_ids: ['u-1', 'Get Weather!', 'get-weather', 'elsewhere'] }],
        resources: [{ name: 'r', uri: 'file:///r', content: 'hello' }],
      },
    });
    expect((document.tools as { name: string }[]).map((t) => t.name)).toEqual(['get-weather']);
    expect((document.servers as { tools: string[] }[])[0]!.tools).toEqual(['get-weather', 'elsewhere']);
    expect((document.resources as { text: string }[])[0]!.text).toBe('hello');
    expect(notes.map((n) => n.path)).toEqual(['$.entities.tools[0].name', '$.entities.tools[1]']);
  });

  it('slugs like ContextForge\'s slugify', () => {
    expect(['basic_tool', 'Create Issue', "don't stop", 'Zürich', 'a--b'].map(contextForgeSlug)).toEqual(['basic-tool', 'create-issue', 'dont-stop', 'zurich', 'a-b']);
  });

  it('reports fields and entities it cannot carry, at their paths', () => {
    const { notes } = fromContextForge({ entities: { gateways: [{ name: 'g', url: 'https://g.example.com', passthrough_headers: ['X-A'] }], roots: [{ uri: 'file:///a' }, { uri: 'file:///b' }], a2a_agents: [] } });
    expect(notes.map((n) => n.path)).toEqual(['$.entities.roots', '$.entities.a2a_agents', '$.entities.gateways[0].passthrough_headers']);
  });
});

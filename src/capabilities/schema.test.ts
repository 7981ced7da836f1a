import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KIND_DEFS } from '../domain/entities.js';
import { capabilityToTool, toolToCapability } from './convert.js';
import { formatCapability, parseCapabilityText } from './file.js';
import { capabilityJsonSchema, capabilitySchema, type CapabilityInput } from './schema.js';

const full: CapabilityInput = {
  fulcrum: '1.0',
  name: 'create_issue',
  title: 'Create an issue',
  description: 'Opens an issue.',
  enabled: false,
  schema: {
    input: {
      type: 'object',
      properties: { owner: { type: 'string' }, repo: { type: 'string' }, trace: { type: 'string' }, session: { type: 'string' }, body: { $ref: '#/$defs/issue' } },
      required: ['owner', 'repo'],
      $defs: { issue: { type: 'object', properties: { title: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/issue' } } } } },
    },
    output: { type: 'object', properties: { id: { type: 'integer' } } },
  },
  providers: {
    primary: {
      service: 'rest',
      timeout: 12.5,
      config: {
        base_url: 'https://api.example.com',
        path: '/v1/repos/{owner}/{repo}/issues',
        method: 'POST',
        params: { dry_run: 'true' },
        headers: { 'X-Trace': '{trace}' },
        cookies: { session: '{session}' },
        body: '{body}',
        body_content_type: 'application/json',
        response_path: '$.data',
        serialization: { path: { owner: { style: 'label' } }, query: { dry_run: { explode: false } }, header: { 'X-Trace': { content_type: 'application/json' } }, body: { xml_root: 'issue' } },
      },
    },
  },
  cache: { strategy: 'exact', ttl: 60 },
  rate_limit: 30,
  auth: { required: true, type: 'api_key', in: 'cookie', name: 'api_key', key: 'env:EXAMPLE_KEY', also: [{ type: 'bearer', key: 'env:EXAMPLE_TOKEN' }] },
  annotations: { readOnlyHint: false, destructiveHint: false },
  metadata: { tags: ['issues', 'github'], category: 'api', read_only: false },
};

const minimal: CapabilityInput = {
  fulcrum: '1.0',
  name: 'ping',
  providers: { primary: { service: 'rest', config: { path: '/ping' } } },
};

describe('capability ⇄ REST tool', () => {
  it.each([
    ['every field set', full],
    ['only required fields', minimal],
    ['basic auth', { ...minimal, auth: { type: 'basic', username: 'env:U', password: 'env:P' } }],
    ['bearer auth', { ...minimal, auth: { required: true, type: 'bearer', key: 'env:T' } }],
    ['oauth2 client credentials', { ...minimal, auth: { type: 'oauth2', flow: 'client_credentials', token_url: 'https://auth.example.com/token', client_id: 'env:ID', client_secret: 'env:SECRET', scopes: ['read'] } }],
  ] as [string, CapabilityInput][])('a capability with %s converts to a tool and back without loss', (_label, input) => {
    const cap = capabilitySchema.parse(input);
    const tool = capabilityToTool(cap);
    expect(toolToCapability(tool)).toEqual(cap);
    // and the tool is one the Admin API accepts, unchanged by its schema
    const parsed = KIND_DEFS.tools.write.parse(tool);
    expect(parsed).toEqual(tool);
  });

  it('a REST tool converts to a capability and back without loss', () => {
    const tool = KIND_DEFS.tools.write.parse({
      name: 'list_items',
      title: 'List items',
      description: 'Lists items.',
      tags: ['inventory'],
      input_schema: { type: 'object', properties: { q: { type: 'string' } } },
      url: 'https://api.example.com:8443/items',
      request_type: 'GET',
      query: { q: '{q}' },
      timeout_ms: 1234,
      auth_ref: { type: 'bearer', key: 'env:TOKEN' },
      metadata: { category: 'inventory' },
    });
    const back = capabilityToTool(capabilitySchema.parse(toolToCapability(tool as never)));
    expect(back).toEqual(tool);
  });

  it('keeps a relative tool URL as a path without base_url', () => {
    const tool = capabilityToTool(capabilitySchema.parse(minimal));
    expect(tool.url).toBe('/ping');
    expect(toolToCapability(tool).providers.primary.config.base_url).toBeUndefined();
  });

  it('refuses to write stored credentials into a capability', () => {
    const tool = { ...capabilityToTool(capabilitySchema.parse(minimal)), auth_type: 'bearer', auth_value: 'c2VjcmV0' };
    expect(() => toolToCapability(tool)).toThrow(/stored credentials/);
  });

  it('a formatted capability parses back to the same capability', () => {
    const cap = capabilitySchema.parse(full);
    const text = formatCapability(cap, 'generated for a test');
    expect(text.startsWith('# generated for a test\nfulcrum: "1.0"\n')).toBe(true);
    const result = parseCapabilityText(text, 'x.yaml');
    expect(result).toEqual({ ok: true, capability: cap });
  });
});

describe('capability schema', () => {
  it('refuses a credential written in the file', () => {
    const result = capabilitySchema.safeParse({ ...minimal, auth: { required: true, type: 'bearer', key: 'ghp_secret' } });
    expect(result.success).toBe(false);
  });

  it('refuses a placeholder that no input property fills', () => {
    const result = capabilitySchema.safeParse({
      ...minimal,
      schema: { input: { type: 'object', properties: { id: { type: 'string' } } } },
      providers: { primary: { service: 'rest', config: { path: '/items/{item_id}' } } },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/placeholder \{item_id\}/);
  });

  it('schemas/capability.schema.json is the one generated from the zod schema (run npm run schema:capability)', () => {
    const committed = readFileSync(new URL('../../schemas/capability.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(`${JSON.stringify(capabilityJsonSchema(), null, 2)}\n`);
  });
});

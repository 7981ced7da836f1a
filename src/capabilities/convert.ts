import type { CredentialRef, ToolFields } from '../domain/entities.js';
import { GatewayError } from '../errors.js';
import type { SerializationMap } from '../upstream/serialize.js';
import type { Capability } from './schema.js';

/** The writable fields of a REST tool (the `tools` entity) that a capability carries: a REST tool with its URL, credentials only as references. */
export type RestToolFields = Omit<ToolFields, 'integration_type' | 'url' | 'auth_type' | 'auth_value'> & {
  integration_type: 'REST';
  url: string;
  auth_type: 'none';
  auth_value: null;
};

const ORIGIN = /^(https?:\/\/[^/?#]+)(.*)$/i;

/** A validated capability as a REST tool; credentials stay references (`auth_ref`). */
export function capabilityToTool(cap: Capability): RestToolFields {
  const config = cap.providers.primary.config;
  const { tags, ...metadata } = cap.metadata ?? {};
  let authRef: CredentialRef | null = null;
  let also: CredentialRef[] | null = null;
  if (cap.auth.required) {
    const { required: _required, also: more, ...ref } = cap.auth as { required: true; also?: CredentialRef[] } & Record<string, unknown>;
    authRef = ref as CredentialRef;
    also = more ?? null;
  }
  return {
    name: cap.name,
    title: cap.title ?? null,
    description: cap.description,
    tags: (tags as string[] | undefined) ?? [],
    is_active: cap.enabled,
    integration_type: 'REST',
    input_schema: cap.schema.input,
    output_schema: cap.schema.output ?? null,
    annotations: cap.annotations ?? {},
    url: (config.base_url ?? '') + config.path,
    request_type: config.method,
    headers: config.headers,
    query: config.params,
    cookies: config.cookies,
    body: config.body ?? null,
    body_content_type: config.body_content_type ?? null,
    response_path: config.response_path ?? null,
    timeout_ms: cap.providers.primary.timeout === undefined ? null : Math.round(cap.providers.primary.timeout * 1000),
    auth_type: 'none',
    auth_value: null,
    auth_ref: authRef,
    auth_also: also,
    serialization: (config.serialization as SerializationMap | undefined) ?? null,
    cache: cap.cache ?? null,
    rate_limit: cap.rate_limit ?? null,
    metadata,
  };
}

/**
 * A REST tool as a capability. The URL splits at its origin (`base_url`) and the rest (`path`);
 * stored credentials (`auth_value`) cannot be written to a file, so such a tool is refused.
 */
export function toolToCapability(tool: Omit<RestToolFields, 'auth_type' | 'auth_value' | 'integration_type' | 'auth_also' | 'serialization'> & {
  auth_also?: CredentialRef[] | null;
  serialization?: SerializationMap | null;
  integration_type?: string;
  auth_type?: string;
  auth_value?: string | null;
}): Capability {
  if (tool.integration_type !== undefined && tool.integration_type !== 'REST') {
    throw new GatewayError('CAPABILITY_INVALID', `tool "${tool.name}" is an MCP tool; only REST tools become capability files`);
  }
  if (tool.auth_value) {
    throw new GatewayError(
      'CAPABILITY_INVALID',
      `tool "${tool.name}" has stored credentials (auth_type ${tool.auth_type}); a capability file only references them: set auth_ref with env:VAR values`,
    );
  }
  const match = ORIGIN.exec(tool.url);
  const config: Capability['providers']['primary']['config'] = {
    ...(match ? { base_url: match[1]! } : {}),
    path: match ? match[2]! : tool.url,
    method: tool.request_type,
    params: tool.query,
    headers: tool.headers,
    cookies: tool.cookies,
  };
  if (tool.body !== null && tool.body !== undefined) config.body = tool.body;
  if (tool.body_content_type !== null) config.body_content_type = tool.body_content_type;
  if (tool.response_path !== null) config.response_path = tool.response_path;
  if (tool.serialization) config.serialization = tool.serialization;
  const cap: Capability = {
    fulcrum: '1.0',
    name: tool.name,
    description: tool.description,
    enabled: tool.is_active,
    schema: { input: tool.input_schema },
    providers: { primary: { service: 'rest', config } },
    auth: tool.auth_ref ? ({ required: true, ...tool.auth_ref, ...(tool.auth_also?.length ? { also: tool.auth_also } : {}) } as Capability['auth']) : { required: false },
  };
  if (tool.title !== null) cap.title = tool.title;
  if (tool.output_schema !== null) cap.schema.output = tool.output_schema;
  if (tool.timeout_ms !== null) cap.providers.primary.timeout = tool.timeout_ms / 1000;
  if (tool.cache !== null) cap.cache = tool.cache;
  if (tool.rate_limit !== null && tool.rate_limit !== undefined) cap.rate_limit = tool.rate_limit;
  if (Object.keys(tool.annotations).length > 0) cap.annotations = tool.annotations;
  const metadata = { ...tool.metadata, ...(tool.tags.length > 0 ? { tags: tool.tags } : {}) };
  if (Object.keys(metadata).length > 0) cap.metadata = metadata;
  return cap;
}

import { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { ENV_REF_PATTERN, HEADER_NAME_PATTERN, HEADER_VALUE_PATTERN, identifierProblem, MEDIA_TYPE_PATTERN, NAME_PATTERN, NAME_RULE, textProblem, XML_NAME_PATTERN } from './text.js';

export { ENV_REF_PATTERN } from './text.js';

/**
 * The entity schemas: the single source for validation, TypeScript types, the Admin API's
 * OpenAPI description and the export document's JSON Schema.
 */

export const KINDS = ['gateways', 'servers', 'tools', 'prompts', 'resources'] as const;
export type Kind = (typeof KINDS)[number];

export const AUTH_TYPES = ['none', 'basic', 'bearer', 'headers', 'oauth2', 'query_param'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

// ---- building blocks -------------------------------------------------------------------------

export const text = (max: number) =>
  z.string().max(max, `must be at most ${max} characters`).superRefine((value, ctx) => {
    const problem = textProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const identifier = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, ctx) => {
      const problem = identifierProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

export const nameSchema = z.string().regex(NAME_PATTERN, NAME_RULE);

export const httpUrl = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http or https URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: 'must use http or https' });
    } else if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not carry credentials; use auth_type and its fields' });
    }
  });

/** A URI with a scheme, as MCP resources use (`file:///x`, `memo://notes/1`, `https://…`). */
const uriSchema = identifier(2048).regex(/^[A-Za-z][A-Za-z0-9+.-]*:\S*$/, 'must be a URI with a scheme, without spaces');

// RFC 9110 token characters for header names; values without CR, LF or NUL.
export const headerName = z.string().regex(HEADER_NAME_PATTERN, 'must be a valid HTTP header name');
export const headerValue = z.string().max(8192, 'must be at most 8192 characters').regex(HEADER_VALUE_PATTERN, 'must not contain CR, LF or NUL');
export const headerMap = z.record(headerName, headerValue);

const tag = identifier(128);
export const tags = z
  .array(tag)
  .max(100, 'at most 100 tags')
  .transform((list) => [...new Set(list)]);

/** What a person may change on a tool discovered from a gateway: the rest is the upstream's. */
export const managedToolEdit = z.object({ is_active: z.boolean().optional(), tags: tags.optional() });

/** A JSON Schema object (free-form JSON), which must describe an object for tool inputs. */
export const jsonObject = z.record(z.string(), z.unknown());
export const objectSchema = jsonObject.superRefine((schema, ctx) => {
  if (schema.type !== undefined && schema.type !== 'object') {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON Schema with "type": "object"' });
  }
});

/** HTTP methods a REST tool may use. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const queryMap = z.record(z.string().min(1).max(256), text(4096));
// RFC 6265 cookie-name is an RFC 9110 token, like a header name.
export const cookieMap = z.record(headerName, headerValue);
export const mediaType = z
  .string()
  .max(256)
  .regex(MEDIA_TYPE_PATTERN, 'must be a media type such as application/json');

/** OpenAPI parameter serialization of a REST tool (issue 15; rules in src/upstream/serialize.ts). */
const paramSerialization = z.strictObject({
  style: z.enum(['simple', 'label', 'matrix', 'form', 'spaceDelimited', 'pipeDelimited', 'tabDelimited', 'deepObject']).optional(),
  explode: z.boolean().optional(),
  allow_reserved: z.boolean().optional().describe('query only: reserved characters are sent unescaped'),
  content_type: mediaType.optional().describe('a content-typed parameter: the value is encoded as this type (JSON), then escaped'),
});
const serializationByName = z.record(z.string().min(1).max(256), paramSerialization);
export const serializationSchema = z
  .strictObject({
    path: serializationByName.optional().describe('placeholder → serialization'),
    query: serializationByName.optional().describe('query parameter → serialization'),
    header: serializationByName.optional().describe('header → serialization'),
    cookie: serializationByName.optional().describe('cookie → serialization'),
    body: z.strictObject({ xml_root: z.string().regex(XML_NAME_PATTERN).max(256).optional() }).optional(),
  })
  .describe('how parameters are serialized (OpenAPI style, explode, allowReserved, content) and the XML root element');

/** One parameter's serialization, as the schema makes it. */
export type ParamSerialization = z.output<typeof paramSerialization>;
/** A REST tool's serialization map, as the schema makes it. */
export type Serialization = z.output<typeof serializationSchema>;

/** Response caching a tool asks for: none, or exact-argument matches kept for ttl seconds. */
export const cacheSchema = z.strictObject({
  strategy: z.enum(['none', 'exact']),
  ttl: z.int().min(0).max(31_536_000).describe('seconds'),
});

export const envRef = z
  .string()
  .regex(ENV_REF_PATTERN, 'must be an environment reference such as env:API_TOKEN (credentials are never written in a file)');

/**
 * How a REST tool authenticates with credentials referenced from the environment: what capability
 * files carry, and what a REST tool keeps when it comes from one.
 */
export const CREDENTIAL_REF_VARIANTS = [
  z.strictObject({ type: z.literal('bearer'), key: envRef.describe('the token') }),
  z.strictObject({ type: z.literal('basic'), username: envRef, password: envRef }),
  z.strictObject({
    type: z.literal('api_key'),
    in: z.enum(['header', 'query', 'cookie']),
    name: headerName.describe('header, query parameter or cookie name'),
    key: envRef.describe('the key'),
  }),
  z.strictObject({
    type: z.literal('oauth2'),
    flow: z.literal('client_credentials'),
    token_url: httpUrl,
    client_id: envRef,
    client_secret: envRef,
    scopes: z.array(z.string().min(1).max(256).regex(/^\S+$/, 'must not contain white space')).max(100).default([]),
  }),
] as const;
export const credentialRefSchema = z.discriminatedUnion('type', CREDENTIAL_REF_VARIANTS);
export type CredentialRef = z.output<typeof credentialRefSchema>;

const isoTime = z.string().describe('RFC 3339 timestamp');
const id = z.string().describe('server-made identifier');

// ---- common fields ---------------------------------------------------------------------------

const commonWrite = {
  name: nameSchema,
  description: text(10_000).default(''),
  tags: tags.default([]),
  is_active: z.boolean().default(true),
};

/** query_param (credentials sent as URL query parameters, as ContextForge has them) is for gateways only. */
const authStored = {
  auth_type: z.enum(AUTH_TYPES.filter((t) => t !== 'query_param') as ['none', 'basic', 'bearer', 'headers', 'oauth2']).default('none'),
  auth_value: z.string().max(65_536).nullable().default(null).describe('AES-256-GCM encrypted credentials (SPEC §6)'),
};

/** Write-only plaintext credentials: accepted in requests, never stored or returned as such. */
export const authWriteOnly = {
  auth_username: z.string().min(1).max(512).regex(/^[^:\r\n\u0000]*$/, 'must not contain ":" or line breaks').optional(),
  auth_password: z.string().max(4096).regex(/^[^\r\n\u0000]*$/, 'must not contain line breaks').optional(),
  auth_token: z.string().min(1).max(8192).regex(/^[^\r\n\u0000\s]*$/, 'must not contain white space').optional(),
  auth_headers: headerMap.optional(),
  auth_query_params: z
    .record(z.string().min(1).max(256).regex(/^[^\s&=#]+$/, 'must be a query parameter name (no spaces, "&", "=" or "#")'), z.string().min(1).max(8192))
    .optional()
    .describe('gateways: credentials sent as URL query parameters (auth_type query_param), name → value'),
  auth_oauth2: z
    .strictObject({
      token_url: httpUrl,
      client_id: z.string().min(1).max(1024),
      client_secret: z.string().min(1).max(4096),
      scope: z.string().max(2048).optional(),
    })
    .optional(),
};
export const WRITE_ONLY_FIELDS = Object.keys(authWriteOnly) as (keyof typeof authWriteOnly)[];

const serverMade = {
  id,
  created_at: isoTime,
  updated_at: isoTime,
};

// ---- the five kinds -------------------------------------------------------------------------

const gatewayFields = {
  ...commonWrite,
  url: httpUrl.nullable().default(null),
  transport: z.enum(['streamablehttp', 'sse', 'stdio']).default('streamablehttp'),
  command: text(4096).nullable().default(null),
  args: z.array(text(4096)).max(256).default([]),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), text(32_768)).default({}),
  name_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{0,32}$/, 'must be at most 32 characters of A-Z, a-z, 0-9, "_" or "-"')
    .nullable()
    .default(null)
    .describe('null: the gateway name; "": names pass through unprefixed'),
  timeout_ms: z.int().min(1).max(600_000).nullable().default(null).describe("per-call timeout for this gateway's tools, prompts and resources; null: TOOL_TIMEOUT_MS"),
  ...authStored,
  auth_type: z.enum(AUTH_TYPES).default('none'),
  // issue 10: stdio env values are write-only; `env` keeps the names (values masked), this the values.
  env_value: z.string().max(262_144).nullable().default(null).describe('AES-256-GCM encrypted map of the env values (as auth_value); env shows the names, values masked'),
};
const collision = z.object({ original_name: z.string(), wanted: z.string(), name: z.string() });
const gatewayReadOnly = {
  capabilities: jsonObject.nullable().describe('discovered from the upstream'),
  reachable: z.boolean().nullable(),
  last_seen: isoTime.nullable(),
  last_error: z.string().nullable(),
  collisions: z.array(collision).describe('tools whose natural name was taken at the last discovery, and the name each got instead'),
};

// Curation (issue 14): a tool selector is a tool's name or a picomatch glob over names.
const TOOL_GLOB = /^[A-Za-z0-9_\-*?[\]{},.!]{1,256}$/;
const MCP_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const toolSelector = z
  .string()
  .refine((v) => MCP_TOOL_NAME.test(v) || (TOOL_GLOB.test(v) && /[*?[{]/.test(v)), 'must be a tool name or a glob such as github__repos_*');
const pinnedArgument = z
  .strictObject({
    value: z.unknown().optional().describe('fixed: sent on every call and removed from the schema the client sees'),
    default: z.unknown().optional().describe('used when the client leaves the argument out; shown as the schema default'),
  })
  .refine((p) => ('value' in p) !== ('default' in p), 'give either value or default');
export const toolOverride = z.strictObject({
  name: nameSchema.optional().describe('the name clients see on this server'),
  title: text(512).nullable().optional(),
  description: text(10_000).optional(),
  annotations: jsonObject.optional().describe('merged over the tool\'s own annotations'),
  arguments: z.record(z.string().min(1).max(256), pinnedArgument).optional(),
});
export type ToolOverride = z.output<typeof toolOverride>;
export const TOOL_EXPOSURES = ['all', 'search', 'pinned+search'] as const;

const serverFields = {
  ...commonWrite,
  tools: z.array(toolSelector).max(10_000).transform(unique).default([]).describe('tool names or globs'),
  tool_tags: z.array(tag).max(100).transform(unique).default([]).describe('also select every tool carrying one of these tags'),
  exclude_tools: z.array(toolSelector).max(10_000).transform(unique).default([]).describe('names or globs removed from the selection'),
  tool_overrides: z.record(z.string().regex(MCP_TOOL_NAME, 'must be a tool name'), toolOverride).default({}).describe('per-tool changes on this server, keyed by the tool\'s name'),
  max_tools: z.int().min(1).max(10_000).nullable().default(null).describe('refuse a selection of more tools than this; null: no cap'),
  tool_exposure: z.enum(TOOL_EXPOSURES).default('all').describe('all: list every tool; search: meta-tools only; pinned+search: meta-tools and pinned_tools'),
  pinned_tools: z.array(toolSelector).max(1_000).transform(unique).default([]).describe('names or globs (as exposed) listed beside the meta-tools in pinned+search'),
  prompts: z.array(nameSchema).max(10_000).transform(unique).default([]),
  resources: z.array(uriSchema).max(10_000).transform(unique).default([]),
  url: httpUrl.nullable().default(null),
  headers: headerMap.default({}),
  health_url: httpUrl.nullable().default(null),
  ...authStored,
  rate_limit: z.int().min(1).max(10_000_000).nullable().default(null).describe('MCP requests per minute per principal to this virtual server, beside RATE_LIMIT_PER_SERVER; null: none'),
};
/** A virtual server's stored writable fields, as the schema makes them. */
export type ServerFields = z.output<z.ZodObject<typeof serverFields>>;

const missingRefs = z.object({
  tools: z.array(z.string()),
  prompts: z.array(z.string()),
  resources: z.array(z.string()),
});
const serverReadOnly = {
  missing_refs: missingRefs,
  resolved_tools: z.array(z.string()).describe('the tool names this server serves, after selection and overrides'),
  curation_problems: z.array(z.string()).describe('selection problems found since the last save (collisions, cap), resolved by dropping tools'),
};

const toolFields = {
  ...commonWrite,
  title: text(512).nullable().default(null),
  integration_type: z.enum(['REST', 'MCP']).default('REST'),
  input_schema: objectSchema.default({ type: 'object', properties: {} }),
  output_schema: objectSchema.nullable().default(null),
  annotations: jsonObject.default({}),
  url: z.string().min(1).max(2048).nullable().default(null).describe('absolute, or relative to its server url; {param} placeholders'),
  request_type: z.enum(HTTP_METHODS).default('GET'),
  headers: headerMap.default({}),
  query: queryMap.default({}),
  cookies: cookieMap.default({}).describe('cookie name → value template ({param} placeholders)'),
  body: z.unknown().default(null).describe('body template: JSON, or the fields of a form'),
  body_content_type: mediaType
    .nullable()
    .default(null)
    .describe('how the body is sent: null or a JSON type as JSON; application/x-www-form-urlencoded; multipart/form-data; anything else as the raw string'),
  response_path: text(1024).nullable().default(null),
  timeout_ms: z.int().min(1).max(600_000).nullable().default(null),
  ...authStored,
  auth_ref: credentialRefSchema
    .nullable()
    .default(null)
    .describe('credentials read from the environment at call time (env:VAR), as capability files carry them'),
  cache: cacheSchema.nullable().default(null),
  metadata: jsonObject.default({}).describe('free-form facts about the tool (category, read_only, …), kept from capability files'),
  auth_also: z.array(credentialRefSchema).max(8).nullable().default(null).describe('further credentials sent together with auth_ref (AND-combined security)'),
  serialization: serializationSchema.nullable().default(null),
  rate_limit: z.int().min(1).max(10_000_000).nullable().default(null).describe('tools/call per minute per principal of this tool, beside RATE_LIMIT_PER_TOOL; null: none'),
};
/** A tool's stored writable fields, as the schema makes them: the REST executor and capability files take their types from here. */
export type ToolFields = z.output<z.ZodObject<typeof toolFields>>;

const toolReadOnly = {
  gateway: z.string().nullable().describe('the gateway an MCP tool was discovered from'),
  original_name: z.string().nullable().describe('the upstream name of an MCP tool'),
  source_file: z.string().nullable().describe('the capability file a tool is loaded from (read-only tools)'),
};

const promptFields = {
  ...commonWrite,
  title: text(512).nullable().default(null),
  template: text(200_000),
  input_schema: objectSchema.default({ type: 'object', properties: {} }),
  ...authStored,
};

const resourceFields = {
  ...commonWrite,
  name: identifier(256).optional().describe('defaults to the URI'),
  uri: uriSchema,
  title: text(512).nullable().default(null),
  mime_type: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must be a media type such as text/plain')
    .max(256)
    .nullable()
    .default(null),
  text: text(10_000_000).nullable().default(null),
  blob: z.base64('must be base64').nullable().default(null),
};

function unique<T>(list: T[]): T[] {
  return [...new Set(list)];
}

// ---- cross-field rules ------------------------------------------------------------------------

type Ctx = z.core.$RefinementCtx;

function gatewayRules(value: { transport: string; url: string | null; command: string | null }, ctx: Ctx): void {
  if (value.transport === 'stdio') {
    if (!value.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'is required when transport is "stdio"' });
  } else if (!value.url) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: `is required when transport is "${value.transport}"` });
  }
}

function toolRules(value: { integration_type: string; url: string | null }, ctx: Ctx): void {
  if (value.integration_type === 'REST' && !value.url) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required for a REST tool' });
  }
}

function resourceRules(value: { text: string | null; blob: string | null }, ctx: Ctx): void {
  if (value.text !== null && value.blob !== null) {
    ctx.addIssue({ code: 'custom', path: ['blob'], message: 'give either text or blob, not both' });
  }
}

// ---- the kind table ---------------------------------------------------------------------------

export interface KindDef {
  kind: Kind;
  /** Singular, for messages and OpenAPI component names. */
  singular: string;
  title: string;
  /** The field that is unique and that references use: name, or uri for resources. */
  keyField: 'name' | 'uri';
  hasAuth: boolean;
  /** Strict write schema (POST/PUT bodies after server-made fields are dropped). */
  write: z.ZodType<Record<string, unknown>>;
  /** The shape returned by GET. */
  read: z.ZodType<Record<string, unknown>>;
  /** Fields the server makes or discovers: ignored in write bodies. */
  serverMade: string[];
  /** An object as an export document carries it: the stored writable fields, no plaintext credentials. */
  portable: z.ZodType<Record<string, unknown>>;
  notFound: ErrorCode;
  exists: ErrorCode;
}

function define<W extends z.core.$ZodLooseShape, R extends z.core.$ZodLooseShape>(
  spec: Omit<KindDef, 'write' | 'read' | 'serverMade' | 'portable'> & {
    fields: W;
    readOnly: R;
    hasWriteOnly: boolean;
    rules?: (value: never, ctx: Ctx) => void;
  },
): KindDef {
  const writeShape = spec.hasWriteOnly ? { ...spec.fields, ...authWriteOnly } : spec.fields;
  let write: z.ZodType<Record<string, unknown>> = z.strictObject(writeShape) as unknown as z.ZodType<Record<string, unknown>>;
  let portable: z.ZodType<Record<string, unknown>> = z.strictObject(spec.fields) as unknown as z.ZodType<Record<string, unknown>>;
  if (spec.rules) {
    write = write.superRefine(spec.rules as (v: Record<string, unknown>, ctx: Ctx) => void);
    portable = portable.superRefine(spec.rules as (v: Record<string, unknown>, ctx: Ctx) => void);
  }
  const read = z.object({ id, ...spec.fields, ...spec.readOnly, created_at: isoTime, updated_at: isoTime }) as unknown as z.ZodType<
    Record<string, unknown>
  >;
  return {
    kind: spec.kind,
    singular: spec.singular,
    title: spec.title,
    keyField: spec.keyField,
    hasAuth: spec.hasAuth,
    write,
    read,
    serverMade: [...Object.keys(serverMade), ...Object.keys(spec.readOnly)],
    portable,
    notFound: spec.notFound,
    exists: spec.exists,
  };
}

export const KIND_DEFS: Record<Kind, KindDef> = {
  gateways: define({
    kind: 'gateways',
    singular: 'gateway',
    title: 'Gateway',
    keyField: 'name',
    hasAuth: true,
    hasWriteOnly: true,
    fields: gatewayFields,
    readOnly: gatewayReadOnly,
    rules: gatewayRules as (value: never, ctx: Ctx) => void,
    notFound: 'GW_NOT_FOUND',
    exists: 'GW_NAME_EXISTS',
  }),
  servers: define({
    kind: 'servers',
    singular: 'server',
    title: 'Server',
    keyField: 'name',
    hasAuth: true,
    hasWriteOnly: true,
    fields: serverFields,
    readOnly: serverReadOnly,
    notFound: 'SERVER_NOT_FOUND',
    exists: 'SERVER_NAME_EXISTS',
  }),
  tools: define({
    kind: 'tools',
    singular: 'tool',
    title: 'Tool',
    keyField: 'name',
    hasAuth: true,
    hasWriteOnly: true,
    fields: toolFields,
    readOnly: toolReadOnly,
    rules: toolRules as (value: never, ctx: Ctx) => void,
    notFound: 'TOOL_NOT_FOUND',
    exists: 'TOOL_NAME_EXISTS',
  }),
  prompts: define({
    kind: 'prompts',
    singular: 'prompt',
    title: 'Prompt',
    keyField: 'name',
    hasAuth: true,
    hasWriteOnly: true,
    fields: promptFields,
    readOnly: {},
    notFound: 'PROMPT_NOT_FOUND',
    exists: 'PROMPT_NAME_EXISTS',
  }),
  resources: define({
    kind: 'resources',
    singular: 'resource',
    title: 'Resource',
    keyField: 'uri',
    hasAuth: false,
    hasWriteOnly: false,
    fields: resourceFields,
    readOnly: {},
    rules: resourceRules as (value: never, ctx: Ctx) => void,
    notFound: 'RESOURCE_NOT_FOUND',
    exists: 'RESOURCE_URI_EXISTS',
  }),
};

export function isKind(value: string): value is Kind {
  return (KINDS as readonly string[]).includes(value);
}

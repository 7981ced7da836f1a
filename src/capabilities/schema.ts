import { z } from 'zod';
import {
  cacheSchema,
  cookieMap,
  CREDENTIAL_REF_VARIANTS,
  credentialRefSchema,
  headerMap,
  HTTP_METHODS,
  jsonObject,
  mediaType,
  nameSchema,
  objectSchema,
  queryMap,
  serializationSchema,
  tags,
  text,
} from '../domain/entities.js';
import { BASE_URL_PATTERN } from '../domain/text.js';

/**
 * The capability file (`fulcrum: "1.0"`, SPEC §7): one REST tool in YAML. This zod schema is the
 * single source; `schemas/capability.schema.json` is generated from it (`npm run schema:capability`).
 */

/** `https://api.example.com` (a `{variable}` may stand for a host label); no credentials. */
const baseUrl = z
  .string()
  .max(2048)
  .regex(BASE_URL_PATTERN, 'must be an absolute http or https URL without credentials, query or fragment');

const configSchema = z.strictObject({
  base_url: baseUrl.optional().describe('absent: the path is relative to the server the tool is listed in'),
  path: z.string().max(2048).regex(/^[^\s]*$/, 'must not contain white space').default('').describe('{param} placeholders are filled from the arguments, URL-encoded'),
  method: z.enum(HTTP_METHODS).default('GET'),
  params: queryMap.default({}).describe('query parameter → value template'),
  headers: headerMap.default({}).describe('header → value template'),
  cookies: cookieMap.default({}).describe('cookie → value template'),
  body: z.unknown().optional().describe('body template: "{arg}" is replaced by the argument itself'),
  body_content_type: mediaType.optional().describe('absent: JSON'),
  response_path: text(1024).optional().describe('JSONPath-like selection of the result, e.g. $.data'),
  serialization: serializationSchema.optional(),
});

const providerSchema = z.strictObject({
  service: z.literal('rest'),
  timeout: z.number().positive().max(600).optional().describe('seconds'),
  config: configSchema,
});

const authSchema = z.union([
  z.strictObject({ required: z.literal(false) }),
  z.discriminatedUnion('type', [
    withRequired(CREDENTIAL_REF_VARIANTS[0]),
    withRequired(CREDENTIAL_REF_VARIANTS[1]),
    withRequired(CREDENTIAL_REF_VARIANTS[2]),
    withRequired(CREDENTIAL_REF_VARIANTS[3]),
  ]),
]);

function withRequired<T extends z.ZodObject>(variant: T) {
  return variant.extend({
    required: z.literal(true).default(true),
    also: z.array(credentialRefSchema).min(1).max(8).optional().describe('further schemes required together with this one (OpenAPI AND-combined security)'),
  });
}

const metadataSchema = z
  .looseObject({
    tags: tags.optional(),
    read_only: z.boolean().optional(),
  })
  .describe('free-form; tags become the tool tags');

const capabilityShape = z.strictObject({
  fulcrum: z.literal('1.0'),
  name: nameSchema,
  title: text(512).optional(),
  description: text(10_000).default(''),
  enabled: z.boolean().default(true).describe('false: a draft, never served'),
  schema: z
    .strictObject({
      input: objectSchema.default({ type: 'object', properties: {} }).describe('JSON Schema of the arguments'),
      output: objectSchema.optional().describe('JSON Schema of the structured result'),
    })
    .default({ input: { type: 'object', properties: {} } }),
  providers: z.strictObject({ primary: providerSchema }),
  cache: cacheSchema.optional(),
  rate_limit: z.int().min(1).max(10_000_000).optional().describe('calls per minute per principal (the tool\'s rate_limit)'),
  auth: authSchema.default({ required: false }),
  annotations: jsonObject.optional().describe('MCP tool annotations: readOnlyHint, destructiveHint, idempotentHint, openWorldHint'),
  metadata: metadataSchema.optional(),
});

const PLACEHOLDER = /\{([A-Za-z_][\w.-]*)\}/g;

/** Every `{arg}` in the URL and the templates must be an argument the input schema declares. */
function placeholderRule(cap: z.output<typeof capabilityShape>, ctx: z.core.$RefinementCtx): void {
  const properties = cap.schema.input.properties;
  if (properties === null || typeof properties !== 'object') return;
  const known = new Set(Object.keys(properties));
  const config = cap.providers.primary.config;
  const check = (template: string, path: (string | number)[]) => {
    for (const match of template.matchAll(PLACEHOLDER)) {
      if (!known.has(match[1]!)) {
        ctx.addIssue({ code: 'custom', path: ['providers', 'primary', 'config', ...path], message: `placeholder {${match[1]}} is not a property of schema.input` });
      }
    }
  };
  check((config.base_url ?? '') + config.path, ['path']);
  for (const [map, entries] of [['params', config.params], ['headers', config.headers], ['cookies', config.cookies]] as const) {
    for (const [key, value] of Object.entries(entries)) check(value, [map, key]);
  }
  const walk = (value: unknown, path: (string | number)[], depth: number): void => {
    if (depth > 64) return;
    if (typeof value === 'string') check(value, path);
    else if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i], depth + 1));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, [...path, k], depth + 1);
  };
  walk(config.body, ['body'], 0);
}

export const capabilitySchema = capabilityShape.superRefine(placeholderRule);

/** A capability as written in a file. */
export type CapabilityInput = z.input<typeof capabilitySchema>;
/** A capability after validation, defaults filled. */
export type Capability = z.output<typeof capabilitySchema>;

/** The JSON Schema published as `schemas/capability.schema.json`. */
export function capabilityJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(capabilitySchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://mcpgateway.dev/schemas/capability.schema.json',
    title: 'MCP Gateway capability file',
    description: 'One REST tool (fulcrum "1.0"). Generated from src/capabilities/schema.ts by `npm run schema:capability`; do not edit.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}

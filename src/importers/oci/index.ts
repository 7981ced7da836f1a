import { broadScope, cleanText, envName, hostOf, toolName, uniqueNames } from '../common.js';
import { z } from 'zod';
import { checkShape, sourceError } from '../errors.js';
import type { Effect, JsonObject, Operation, SourceInfo, ImporterResult } from '../planner/types.js';

/** Where each registry type's packages come from, for egress review. */
const REGISTRY_HOSTS: Record<string, string> = { npm: 'registry.npmjs.org', pypi: 'pypi.org', oci: 'docker.io', nuget: 'api.nuget.org' };

interface EnvVar {
  name?: unknown;
  description?: unknown;
  isRequired?: unknown;
  isSecret?: unknown;
  default?: unknown;
}

/** An MCP Registry argument (`runtimeArguments`, `packageArguments`). */
interface RegistryArgument {
  type?: unknown;
  name?: unknown;
  value?: unknown;
  default?: unknown;
  valueHint?: unknown;
  description?: unknown;
  isRequired?: unknown;
  isSecret?: unknown;
  variables?: Record<string, { isSecret?: unknown; default?: unknown; value?: unknown; description?: unknown; isRequired?: unknown }>;
}

interface RegistryPackage {
  registryType?: unknown;
  runtimeArguments?: RegistryArgument[];
  packageArguments?: RegistryArgument[];
  identifier?: unknown;
  version?: unknown;
  transport?: { type?: unknown; url?: unknown };
  environmentVariables?: EnvVar[];
  fileSha256?: unknown;
}

interface ServerJson {
  name?: unknown;
  description?: unknown;
  version?: unknown;
  license?: unknown;
  repository?: { url?: unknown; source?: unknown };
  packages?: RegistryPackage[];
  remotes?: { type?: unknown; url?: unknown; headers?: { name?: unknown; isSecret?: unknown; description?: unknown }[] }[];
}

interface FlatPackage {
  name?: unknown;
  image_ref?: unknown;
  digest_sha256?: unknown;
  license?: unknown;
  provenance?: unknown;
  tools?: { name?: unknown; description?: unknown; input_schema?: unknown; inputSchema?: unknown; annotations?: Record<string, unknown> }[];
}

// The containers of the two forms, checked before they are walked (scalars are checked where they are read).
const loose = z.looseObject({});
const argumentList = z.array(z.looseObject({ variables: z.record(z.string(), loose).optional() })).optional();
const SERVER_JSON_SHAPE = z.looseObject({
  repository: loose.optional(),
  packages: z
    .array(
      z.looseObject({
        runtimeArguments: argumentList,
        packageArguments: argumentList,
        transport: loose.optional(),
        environmentVariables: z.array(loose).optional(),
      }),
    )
    .optional(),
  remotes: z.array(z.looseObject({ headers: z.array(loose).optional() })).optional(),
});
const FLAT_SHAPE = z.looseObject({ tools: z.array(z.looseObject({ annotations: loose.optional() })).optional() });

/**
 * Import MCP package metadata: an MCP Registry `server.json` (one draft per package and remote,
 * each a gateway registration), or the flat `{name, image_ref, digest_sha256, tools[]}` form (one
 * draft per tool). Package drafts are registrations, never capability files.
 */
export function importOciPackage(parsed: unknown, options: { sourceName: string; uri?: string | null }): ImporterResult {
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw sourceError('$: MCP package metadata must be a JSON object');
  if ('image_ref' in parsed) {
    checkShape(FLAT_SHAPE, parsed);
    return fromFlat(parsed as FlatPackage, options);
  }
  if ('packages' in parsed || 'remotes' in parsed) {
    checkShape(SERVER_JSON_SHAPE, parsed);
    return fromServerJson(parsed as ServerJson, options);
  }
  throw sourceError('$: expected an MCP Registry server.json (packages, remotes) or a package with image_ref');
}

function fromServerJson(doc: ServerJson, options: { sourceName: string; uri?: string | null }): ImporterResult {
  const serverName = requireString(doc.name, '$.name');
  const short = serverName.split('/').pop() ?? serverName;
  const repository = typeof doc.repository?.url === 'string' ? doc.repository.url : null;
  const source: SourceInfo = {
    name: options.sourceName,
    kind: 'oci-mcp-package',
    uri: options.uri ?? null,
    license: typeof doc.license === 'string' ? doc.license : null,
    provenance: repository ? `${repository}${typeof doc.version === 'string' ? `@${doc.version}` : ''}` : null,
  };
  const warnings: string[] = [];
  const ops: Operation[] = [];
  (doc.packages ?? []).forEach((pkg, i) => {
    const at = `$.packages[${i}]`;
    const type = requireString(pkg.registryType, `${at}.registryType`);
    // A package type the gateway cannot launch (nuget, mcpb, …) is skipped; the rest of the file still imports.
    if (!LAUNCHERS.has(type)) warnings.push(`${at}.registryType: ${JSON.stringify(type)} is not npm, pypi or oci; this package is skipped`);
    else ops.push(packageDraft(pkg, at, short, doc, warnings));
  });
  (doc.remotes ?? []).forEach((remote, i) => {
    const at = `$.remotes[${i}]`;
    const url = requireString(remote.url, `${at}.url`);
    const host = hostOf(url);
    if (!host) throw sourceError(`${at}.url: must be an absolute URL`);
    const transport = remote.type === 'sse' ? 'sse' : remote.type === 'streamable-http' ? 'streamablehttp' : undefined;
    if (!transport) throw sourceError(`${at}.type: must be streamable-http or sse, not ${JSON.stringify(remote.type)}`);
    const secretHeaders = (remote.headers ?? []).filter((h) => h.isSecret === true && typeof h.name === 'string').map((h) => String(h.name));
    const name = toolName(`${short}_remote_${transport}`);
    const gateway: JsonObject = { name, url, transport, description: cleanText(String(doc.description ?? '')), auth_type: secretHeaders.length ? 'headers' : 'none' };
    if (secretHeaders.length) gateway.auth_headers = Object.fromEntries(secretHeaders.map((h) => [h, `env:${envName(`${short}_${h}`)}`]));
    ops.push({
      name,
      title: `${serverName} (remote, ${transport})`,
      description: gateway.description as string,
      route: { protocol: 'mcp', method: transport, endpoint: url, operation: serverName },
      input_schema: { type: 'object', properties: Object.fromEntries(secretHeaders.map((h) => [h, { type: 'string', format: 'password' }])) },
      output_schema: null,
      tags: ['mcp-package', 'remote'],
      facts: {
        effect: 'read',
        destructive: false,
        auth_schemes: secretHeaders.length ? ['headers'] : [],
        auth_declared: true,
        broad_scope: null,
        unbounded_list: false,
        selection_depth: null,
        egress_hosts: [host],
        plaintext_http: url.startsWith('http:'),
      },
      target: { type: 'gateway', gateway, reason: 'MCP packages become gateway registrations after review (POST /gateways), not capability files' },
    });
  });
  if (ops.length === 0) {
    const skipped = warnings.find((w) => w.includes('this package is skipped'));
    throw sourceError(skipped ? `${skipped}, and nothing else is left to import` : '$: the server.json lists no packages and no remotes');
  }
  return { source, document: doc, operations: uniqueNames(ops, warnings), warnings };
}

const LAUNCHERS = new Set(['npm', 'pypi', 'oci']);

/**
 * Registry arguments as command-line words. Values and defaults are kept; a secret (the argument
 * or one of its variables) becomes an `env:VAR` reference and an input, never a value in the file;
 * a required argument without a value becomes a `{hint}` placeholder and an input.
 */
function argumentWords(list: RegistryArgument[] | undefined, at: string, short: string, inputs: Record<string, JsonObject>, required: string[], warnings: string[]): string[] {
  const words: string[] = [];
  (list ?? []).forEach((arg, i) => {
    const where = `${at}[${i}]`;
    const named = arg.type === 'named';
    const flag = named ? requireString(arg.name, `${where}.name`) : undefined;
    const label = String(arg.valueHint ?? flag ?? `argument_${i + 1}`).replace(/^-+/, '');
    const secretInput = (name: string, description: unknown) => {
      const variable = envName(`${short}_${name}`);
      inputs[variable] = { type: 'string', format: 'password', ...(typeof description === 'string' ? { description: cleanText(description, 512) } : {}) };
      required.push(variable);
      return `env:${variable}`;
    };
    let value: string | undefined;
    const raw = arg.value ?? arg.default;
    if (arg.isSecret === true) value = secretInput(label, arg.description);
    else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
      value = String(raw).replace(/\{([A-Za-z_][\w-]*)\}/g, (whole, name: string) => {
        const v = arg.variables?.[name];
        if (v?.isSecret === true) return secretInput(name, v.description);
        const filled = v?.value ?? v?.default;
        if (filled !== undefined) return String(filled);
        inputs[name] = { type: 'string', ...(typeof v?.description === 'string' ? { description: cleanText(v.description, 512) } : {}) };
        if (v?.isRequired === true) required.push(name);
        return whole;
      });
    } else if (arg.isRequired === true) {
      inputs[label] = { type: 'string', ...(typeof arg.description === 'string' ? { description: cleanText(arg.description, 512) } : {}) };
      required.push(label);
      value = `{${label}}`;
      warnings.push(`${where}: required argument ${flag ?? label} has no value; fill {${label}} before registering`);
    }
    if (flag) {
      if (value !== undefined) words.push(flag, value);
      else if (arg.isRequired === true) words.push(flag);
    } else if (value !== undefined) words.push(value);
  });
  return words;
}

function packageDraft(pkg: RegistryPackage, at: string, short: string, doc: ServerJson, warnings: string[]): Operation {
  const type = requireString(pkg.registryType, `${at}.registryType`);
  const identifier = requireString(pkg.identifier, `${at}.identifier`);
  const version = typeof pkg.version === 'string' ? pkg.version : null;
  const env = (pkg.environmentVariables ?? []).map((v, i) => ({ ...v, name: requireString(v.name, `${at}.environmentVariables[${i}].name`) }));
  const argInputs: Record<string, JsonObject> = {};
  const argRequired: string[] = [];
  const runtime = argumentWords(pkg.runtimeArguments, `${at}.runtimeArguments`, short, argInputs, argRequired, warnings);
  const packageArgs = argumentWords(pkg.packageArguments, `${at}.packageArguments`, short, argInputs, argRequired, warnings);
  let command: string;
  let args: string[];
  switch (type) {
    case 'npm':
      command = 'npx';
      args = ['-y', ...runtime, version ? `${identifier}@${version}` : identifier, ...packageArgs];
      break;
    case 'pypi':
      command = 'uvx';
      args = [...runtime, version ? `${identifier}==${version}` : identifier, ...packageArgs];
      break;
    case 'oci':
      command = 'docker';
      args = ['run', '-i', '--rm', ...env.flatMap((v) => ['-e', v.name]), ...runtime, identifier, ...packageArgs];
      break;
    default:
      throw sourceError(`${at}.registryType: ${JSON.stringify(type)} is not npm, pypi or oci`);
  }
  const transportType = pkg.transport?.type ?? 'stdio';
  if (transportType !== 'stdio') warnings.push(`${at}: transport ${String(transportType)} packages are registered as stdio; check the package's documentation`);
  const pinned = type === 'oci' ? identifier.includes('@sha256:') : Boolean(version && typeof pkg.fileSha256 === 'string');
  const name = toolName(`${short}_${type}`);
  const properties: Record<string, JsonObject> = {};
  const required: string[] = [];
  for (const v of env) {
    properties[v.name] = { type: 'string', ...(v.isSecret === true ? { format: 'password' } : {}), ...(typeof v.description === 'string' ? { description: cleanText(v.description, 512) } : {}) };
    if (v.isRequired === true) required.push(v.name);
  }
  for (const [key, schema] of Object.entries(argInputs)) properties[key] ??= schema;
  for (const key of argRequired) if (!required.includes(key)) required.push(key);
  const gateway: JsonObject = {
    name,
    transport: 'stdio',
    command,
    args,
    env: Object.fromEntries(env.map((v) => [v.name, `env:${v.name}`])),
    description: cleanText(String(doc.description ?? '')),
  };
  const registryHost = REGISTRY_HOSTS[type]!;
  const imageHost = type === 'oci' && identifier.includes('/') && identifier.split('/')[0]!.includes('.') ? identifier.split('/')[0]! : registryHost;
  return {
    name,
    title: `${String(doc.name)} (${type} ${identifier}${version ? ` ${version}` : ''})`,
    description: gateway.description as string,
    route: { protocol: 'mcp', method: 'stdio', endpoint: `${type}:${identifier}${version ? `@${version}` : ''}`, operation: String(doc.name) },
    input_schema: { type: 'object', properties, ...(required.length ? { required } : {}) },
    output_schema: null,
    tags: ['mcp-package', type],
    facts: {
      effect: 'read',
      destructive: false,
      auth_schemes: [],
      auth_declared: true,
      broad_scope: null,
      provenance_gap: pinned ? null : `${identifier} is not pinned to a digest: what runs may change under the same name`,
      unbounded_list: false,
      selection_depth: null,
      egress_hosts: [imageHost],
      plaintext_http: false,
    },
    target: { type: 'gateway', gateway, reason: 'MCP packages become gateway registrations after review (POST /gateways), not capability files' },
  };
}

function fromFlat(doc: FlatPackage, options: { sourceName: string; uri?: string | null }): ImporterResult {
  const name = requireString(doc.name, '$.name');
  const image = requireString(doc.image_ref, '$.image_ref');
  const referenced = /@(sha256:[0-9a-f]{64})$/i.exec(image)?.[1] ?? null;
  const declared = typeof doc.digest_sha256 === 'string' ? doc.digest_sha256 : null;
  if (declared !== null && !/^(sha256:)?[0-9a-f]{64}$/i.test(declared)) throw sourceError('$.digest_sha256: must be 64 hex digits, optionally after "sha256:"');
  const source: SourceInfo = {
    name: options.sourceName,
    kind: 'oci-mcp-package',
    uri: options.uri ?? null,
    license: typeof doc.license === 'string' ? doc.license : null,
    provenance: typeof doc.provenance === 'string' ? doc.provenance : null,
    declared_digest: declared,
    referenced_digest: referenced,
  };
  const warnings: string[] = [];
  if (!declared && !referenced) warnings.push('the image is pinned by neither digest_sha256 nor an @sha256: reference');
  const registryHost = image.split('/')[0]!.includes('.') ? image.split('/')[0]! : 'docker.io';
  const gateway: JsonObject = { name: toolName(name), transport: 'stdio', command: 'docker', args: ['run', '-i', '--rm', image] };
  if (!Array.isArray(doc.tools) || doc.tools.length === 0) throw sourceError('$.tools: must list the tools the package provides');
  const ops = doc.tools.map((tool, i): Operation => {
    const at = `$.tools[${i}]`;
    const toolRaw = requireString(tool.name, `${at}.name`);
    const input = (tool.input_schema ?? tool.inputSchema ?? { type: 'object', properties: {} }) as JsonObject;
    if (typeof input !== 'object' || Array.isArray(input)) throw sourceError(`${at}.input_schema: must be a JSON Schema object`);
    const a = tool.annotations ?? {};
    const effect: Effect = a.readOnlyHint === true ? 'read' : a.destructiveHint === true ? 'delete' : 'write';
    return {
      name: toolName(toolRaw, name),
      title: typeof a.title === 'string' ? a.title : toolRaw,
      description: cleanText(typeof tool.description === 'string' ? tool.description : '') || `${toolRaw} from ${name}`,
      route: { protocol: 'mcp', method: 'stdio', endpoint: image, operation: toolRaw },
      input_schema: { type: 'object', ...input },
      output_schema: null,
      tags: ['mcp-package', 'oci'],
      facts: {
        effect,
        destructive: a.destructiveHint === true,
        auth_schemes: [],
        auth_declared: false,
        broad_scope: broadScope(toolRaw),
        unbounded_list: false,
        selection_depth: null,
        egress_hosts: a.openWorldHint === false ? [] : [registryHost],
        plaintext_http: false,
      },
      target: { type: 'gateway', gateway, reason: 'tools of an MCP package are served by registering the package as a gateway after review' },
    };
  });
  return { source, document: doc, operations: uniqueNames(ops, warnings), warnings };
}

function requireString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw sourceError(`${path}: must be a non-empty string`);
  return value;
}


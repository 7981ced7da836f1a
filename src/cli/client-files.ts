import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { GatewayError } from '../errors.js';

/**
 * The MCP server entries of desktop clients' configuration files (issue 14), read into one shape,
 * and the snippet each client needs to reach the gateway. Pure: no file or network access.
 *
 * - Claude Desktop (`claude_desktop_config.json`), Cursor (`.cursor/mcp.json`): `mcpServers`,
 *   stdio `command`/`args`/`env`, Cursor also `url`/`headers`; Cursor interpolates `${env:NAME}`.
 * - Claude Code (`.mcp.json`): `mcpServers` with `type` `stdio`|`http`|`sse`; `${NAME}` and `${NAME:-default}`.
 * - VS Code (`.vscode/mcp.json`): `servers` with `type`, and `inputs` referenced as `${input:id}`.
 * - Windsurf (`mcp_config.json`): `mcpServers`, remote servers as `serverUrl`; `${env:NAME}`.
 * - Codex (`~/.codex/config.toml`): `[mcp_servers.NAME]` tables, stdio or `url` with `bearer_token_env_var`.
 */

export const CLIENTS = ['claude-desktop', 'claude-code', 'cursor', 'vscode', 'windsurf', 'codex'] as const;
export type ClientKind = (typeof CLIENTS)[number];

/** One MCP server a client file names, placeholders not yet resolved. */
export interface ClientEntry {
  name: string;
  transport: 'stdio' | 'streamablehttp' | 'sse';
  command?: string;
  args: string[];
  env: Record<string, string>;
  url?: string;
  headers: Record<string, string>;
  /** VS Code inputs marked `password: true`, by id. */
  secretInputs: Set<string>;
}

/** Guess the client from the file's path and content. */
export function detectClient(path: string, text: string): ClientKind {
  const lower = path.toLowerCase();
  if (lower.endsWith('.toml')) return 'codex';
  const doc = parseJson(text);
  if (doc.servers && !doc.mcpServers) return 'vscode';
  const entries = Object.values((doc.mcpServers ?? {}) as Record<string, Record<string, unknown>>);
  if (entries.some((e) => e && typeof e === 'object' && 'serverUrl' in e) || lower.includes('windsurf') || lower.includes('codeium')) return 'windsurf';
  if (lower.includes('claude_desktop')) return 'claude-desktop';
  if (lower.includes('.cursor') || lower.includes('cursor')) return 'cursor';
  if (lower.endsWith('.mcp.json') || entries.some((e) => e && typeof e === 'object' && 'type' in e)) return 'claude-code';
  return 'claude-desktop';
}

/** Read the MCP server entries of a client's configuration file. */
export function readClientFile(client: ClientKind, text: string): ClientEntry[] {
  if (client === 'codex') return readCodex(text);
  const doc = parseJson(text);
  const key = client === 'vscode' ? 'servers' : 'mcpServers';
  const block = doc[key];
  if (!isRecord(block)) throw invalid(`the file has no "${key}" object; is it a ${client} configuration file?`);
  const secretInputs = new Set<string>();
  if (client === 'vscode' && Array.isArray(doc.inputs)) {
    for (const input of doc.inputs) if (isRecord(input) && typeof input.id === 'string' && input.password === true) secretInputs.add(input.id);
  }
  return Object.entries(block).map(([name, raw]) => {
    if (!isRecord(raw)) throw invalid(`${key}.${name} must be an object`);
    const url = str(raw.url) ?? str(raw.serverUrl);
    const type = str(raw.type);
    const entry: ClientEntry = { name, transport: 'stdio', args: strings(raw.args, `${key}.${name}.args`), env: stringMap(raw.env, `${key}.${name}.env`), headers: stringMap(raw.headers, `${key}.${name}.headers`), secretInputs };
    if (url !== undefined) {
      entry.url = url;
      entry.transport = type === 'sse' || (type === undefined && /\/sse\/?$/.test(url)) ? 'sse' : 'streamablehttp';
    } else if (str(raw.command) !== undefined) {
      entry.command = str(raw.command);
    } else {
      throw invalid(`${key}.${name} has neither "command" nor "url"`);
    }
    return entry;
  });
}

function readCodex(text: string): ClientEntry[] {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw invalid(`not TOML: ${(error as Error).message.split('\n')[0]}`);
  }
  const block = doc.mcp_servers;
  if (!isRecord(block)) throw invalid('the file has no [mcp_servers.NAME] tables; is it a Codex config.toml?');
  return Object.entries(block).map(([name, raw]) => {
    if (!isRecord(raw)) throw invalid(`mcp_servers.${name} must be a table`);
    const headers = stringMap(raw.http_headers, `mcp_servers.${name}.http_headers`);
    const tokenVar = str(raw.bearer_token_env_var);
    if (tokenVar) headers.Authorization = `Bearer \${env:${tokenVar}}`;
    for (const [header, variable] of Object.entries(stringMap(raw.env_http_headers, `mcp_servers.${name}.env_http_headers`))) headers[header] = `\${env:${variable}}`;
    const entry: ClientEntry = { name, transport: 'stdio', args: strings(raw.args, `mcp_servers.${name}.args`), env: stringMap(raw.env, `mcp_servers.${name}.env`), headers, secretInputs: new Set() };
    const url = str(raw.url);
    if (url !== undefined) {
      entry.url = url;
      entry.transport = 'streamablehttp';
    } else if (str(raw.command) !== undefined) {
      entry.command = str(raw.command);
    } else {
      throw invalid(`mcp_servers.${name} has neither "command" nor "url"`);
    }
    return entry;
  });
}

/** A placeholder's environment variable: `${env:X}`, `${X}`, `${X:-default}`, or `${input:id}` → MCPGATEWAY_INPUT_ID. */
const PLACEHOLDER = /\$\{(?:(env|input):)?([A-Za-z0-9_.-]+)(?::-([^}]*))?\}/g;

/** The variable an `${input:id}` placeholder is read from. */
export function inputVariable(id: string): string {
  return `MCPGATEWAY_INPUT_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Fill every placeholder from the environment; names the variables that are missing. */
export function resolvePlaceholders(value: string, env: NodeJS.ProcessEnv, missing: Set<string>): string {
  return value.replace(PLACEHOLDER, (whole, scope: string | undefined, id: string, fallback: string | undefined) => {
    const variable = scope === 'input' ? inputVariable(id) : id;
    const found = env[variable];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    if (scope === undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(id)) return whole;
    missing.add(variable);
    return '';
  });
}

/** A gateway name from an entry's key: the SPEC's name rule, deterministic. */
export function gatewayName(key: string): string {
  const cleaned = key.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return cleaned || 'imported';
}

/** Written into snippets where the client's token goes. */
export const TOKEN_PLACEHOLDER = '<MCPGATEWAY_TOKEN>';

/** How the snippet reaches the gateway. */
export interface SnippetTarget {
  server: string;
  gatewayUrl: string;
  token: string;
}

/** The configuration snippet that points a client at one virtual server of the gateway. */
export function clientSnippet(client: ClientKind, target: SnippetTarget): string {
  const url = `${target.gatewayUrl.replace(/\/+$/, '')}/servers/${encodeURIComponent(target.server)}/mcp`;
  const auth = { Authorization: `Bearer ${target.token}` };
  const name = gatewayName(`mcpgateway-${target.server}`);
  const bridge = { command: 'mcpgateway', args: ['stdio', '--server', target.server], env: { MCPGATEWAY_URL: target.gatewayUrl, MCPGATEWAY_BEARER_TOKEN: target.token } };
  switch (client) {
    // Claude Desktop's configuration file starts local (stdio) servers only.
    case 'claude-desktop':
      return json({ mcpServers: { [name]: bridge } });
    case 'claude-code':
      return json({ mcpServers: { [name]: { type: 'http', url, headers: auth } } });
    case 'cursor':
      return json({ mcpServers: { [name]: { url, headers: auth } } });
    case 'vscode':
      return json({ servers: { [name]: { type: 'http', url, headers: auth } } });
    case 'windsurf':
      return json({ mcpServers: { [name]: { serverUrl: url, headers: auth } } });
    // Codex reads the token from a variable; a real token (--token, --mint-token) goes in as a header.
    case 'codex':
      return `${stringifyToml({ mcp_servers: { [name]: target.token === TOKEN_PLACEHOLDER ? { url, bearer_token_env_var: 'MCPGATEWAY_BEARER_TOKEN' } : { url, http_headers: auth } } })}\n`;
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function parseJson(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    // Claude Code and VS Code files are JSON with comments at times: drop whole-line // comments.
    doc = JSON.parse(text.replace(/^\s*\/\/.*$/gm, ''));
  } catch (error) {
    throw invalid(`not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(doc)) throw invalid('the file must hold a JSON object');
  return doc;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function strings(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalid(`${path} must be a list of strings`);
  return value as string[];
}

function stringMap(value: unknown, path: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value) || Object.values(value).some((v) => typeof v !== 'string')) throw invalid(`${path} must map names to strings`);
  return { ...(value as Record<string, string>) };
}

function invalid(message: string): GatewayError {
  return new GatewayError('CLIENT_CONFIG_INVALID', message);
}

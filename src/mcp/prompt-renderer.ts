import type { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { Liquid, Template } from 'liquidjs';
import { GatewayError } from '../errors.js';

/** LiquidJS and the schema validator load on the first render: a gateway without prompts never pays for them. */
let engines: Promise<{ liquid: Liquid; validators: AjvJsonSchemaValidator }> | undefined;
function loadEngines() {
  engines ??= Promise.all([import('liquidjs'), import('@modelcontextprotocol/server/validators/ajv')]).then(([{ Liquid }, { AjvJsonSchemaValidator }]) => ({
    liquid: new Liquid({
      ownPropertyOnly: true,
      strictFilters: true,
      relativeReference: false,
      root: [],
      fs: noFiles,
      parseLimit: 1_000_000,
      renderLimit: 1_000,
      memoryLimit: 50_000_000,
    }),
    validators: new AjvJsonSchemaValidator(),
  }));
  return engines;
}

/**
 * Prompt templates in LiquidJS: a template can read its arguments and use filters, but cannot run
 * code, read files (`include`/`render`/`layout` have no file system) or loop without bound.
 */
export class PromptRenderer {
  private readonly compiled = new Map<string, { template: Template[]; validate: (input: unknown) => string | undefined }>();

  /** `maxRenderBytes`: PROMPT_MAX_RENDER_BYTES; rendering stops as soon as the output passes it (issue 10). */
  constructor(private readonly limits: { maxRenderBytes?: number } = {}) {}

  /** Forget compiled templates (after prompts change). */
  reset(): void {
    this.compiled.clear();
  }

  /** Validate arguments against the prompt's input_schema and render its template. */
  async render(
    prompt: { key: string; name: string; template: string; input_schema: Record<string, unknown> },
    args: Record<string, unknown>,
  ): Promise<string> {
    const { liquid, validators } = await loadEngines();
    const entry = this.compile(prompt, liquid, validators);
    const coerced = coerce(prompt.input_schema, args);
    const problem = entry.validate(coerced);
    if (problem) throw new GatewayError('PROMPT_ARGS_INVALID', `arguments for prompt "${prompt.name}" are invalid: ${problem}`);
    try {
      if (this.limits.maxRenderBytes) return await renderBounded(liquid, entry.template, coerced, this.limits.maxRenderBytes, prompt.name);
      return String(await liquid.render(entry.template, coerced));
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError('PROMPT_RENDER_FAILED', `prompt "${prompt.name}" could not be rendered: ${firstLine(error)}`);
    }
  }

  private compile(prompt: { key: string; name: string; template: string; input_schema: Record<string, unknown> }, liquid: Liquid, validators: AjvJsonSchemaValidator) {
    let entry = this.compiled.get(prompt.key);
    if (entry) return entry;
    let template: Template[];
    try {
      template = liquid.parse(prompt.template);
    } catch (error) {
      throw new GatewayError('PROMPT_RENDER_FAILED', `prompt "${prompt.name}" has an invalid template: ${firstLine(error)}`);
    }
    let validator: ((input: unknown) => { valid: boolean; errorMessage?: string | undefined }) | undefined;
    try {
      validator = validators.getValidator(prompt.input_schema as never);
    } catch {
      validator = undefined;
    }
    const validate = (input: unknown) => {
      if (!validator) return undefined;
      const result = validator(input);
      return result.valid ? undefined : (result.errorMessage ?? 'do not match the input schema');
    };
    entry = { template, validate };
    this.compiled.set(prompt.key, entry);
    return entry;
  }
}

/** MCP sends prompt arguments as strings; turn them into the numbers and booleans the schema asks for. */
function coerce(schema: Record<string, unknown>, args: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, { type?: unknown }>;
  const out: Record<string, unknown> = { ...args };
  for (const [key, value] of Object.entries(args)) {
    const type = properties[key]?.type;
    if (typeof value !== 'string') continue;
    if ((type === 'number' || type === 'integer') && value.trim() !== '' && !Number.isNaN(Number(value))) out[key] = Number(value);
    else if (type === 'boolean' && (value === 'true' || value === 'false')) out[key] = value === 'true';
  }
  return out;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0]!.slice(0, 300);
}

const refuse = (): never => {
  throw new Error('templates cannot include files');
};
const noFiles = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => refuse(),
  readFileSync: () => refuse(),
  resolve: (_root: string, file: string) => file,
};

/** Render into an emitter that counts: past `max` characters the render stops with PROMPT_RENDER_TOO_LARGE. */
async function renderBounded(liquid: Liquid, template: Template[], scope: Record<string, unknown>, max: number, name: string): Promise<string> {
  const { Context, toPromise } = await import('liquidjs');
  const parts: string[] = [];
  let size = 0;
  const tooLarge = new GatewayError('PROMPT_RENDER_TOO_LARGE', `prompt "${name}" renders to more than ${max} bytes (PROMPT_MAX_RENDER_BYTES); rendering stopped`);
  const emitter = {
    buffer: '',
    write(html: unknown) {
      const text = html === null || html === undefined ? '' : String(html as string);
      size += Buffer.byteLength(text);
      if (size > max) throw tooLarge;
      parts.push(text);
    },
  };
  try {
    await toPromise(liquid.renderer.renderTemplates(template, new Context(scope, liquid.options), emitter as never));
  } catch (error) {
    if (size > max) throw tooLarge; // LiquidJS wraps what a write throws
    throw error;
  }
  return parts.join('');
}

import { type ApiError, type JsonSchema } from './api.js';
import { h, uid } from './dom.js';

/** Fields that carry credentials: typed in, sent only when typed, never shown back. */
export function isCredential(name: string): boolean {
  return name === 'env' || (name.startsWith('auth_') && !['auth_type', 'auth_value', 'auth_ref'].includes(name));
}

/** Fields the page never offers for editing (server-made or stored-encrypted). */
const HIDDEN = new Set(['auth_value']);

type Shape = 'text' | 'textarea' | 'number' | 'boolean' | 'enum' | 'list' | 'json';

interface FieldControl {
  name: string;
  shape: Shape;
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
  wrapper: HTMLElement;
  nullable: boolean;
  credential: boolean;
  initial: string;
}

/** The schema a field really has once `null` alternatives are set aside. */
function core(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const options = schema.anyOf ?? schema.oneOf;
  if (options) {
    const rest = options.filter((o) => o.type !== 'null');
    if (rest.length === 1) return { schema: { ...rest[0], description: schema.description ?? rest[0]!.description }, nullable: rest.length < options.length };
    return { schema, nullable: rest.length < options.length };
  }
  return { schema, nullable: false };
}

function shapeOf(name: string, schema: JsonSchema): Shape {
  if (schema.enum) return 'enum';
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'boolean') return 'boolean';
  if (type === 'integer' || type === 'number') return 'number';
  if (type === 'string') return ['description', 'template', 'text', 'body'].includes(name) ? 'textarea' : 'text';
  if (type === 'array' && schema.items && (schema.items.type === 'string' || schema.items.enum)) return 'list';
  return 'json';
}

function toText(shape: Shape, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (shape === 'list') return Array.isArray(value) ? value.join(', ') : '';
  if (shape === 'json') return JSON.stringify(value, null, 2);
  return String(value);
}

/**
 * A form generated from a JSON Schema object (the API's `*Write` components). `read()` gives the
 * fields to send: for a new object only what was filled in; for an edit only what changed
 * (a merge patch). Credential fields start empty and are sent only when typed.
 */
export class SchemaForm {
  readonly element: HTMLElement;
  private readonly controls: FieldControl[] = [];
  private readonly formError: HTMLElement;

  constructor(schema: JsonSchema, private readonly current: Record<string, unknown> | undefined, options: { exclude?: string[]; readOnly?: boolean } = {}) {
    const required = new Set(schema.required ?? []);
    this.formError = h('div', { role: 'alert' });
    const fields: HTMLElement[] = [];
    for (const [name, raw] of Object.entries(schema.properties ?? {})) {
      if (HIDDEN.has(name) || options.exclude?.includes(name)) continue;
      fields.push(this.field(name, raw, required.has(name), options.readOnly ?? false));
    }
    this.element = h('div', { class: 'schema-form' }, this.formError, fields);
  }

  private field(name: string, raw: JsonSchema, required: boolean, readOnly: boolean): HTMLElement {
    const { schema, nullable } = core(raw);
    const shape = shapeOf(name, schema);
    const credential = isCredential(name);
    const id = uid(`f-${name}`);
    const errorId = `${id}-error`;
    const hintId = `${id}-hint`;
    const value = credential ? undefined : this.current ? this.current[name] : undefined;
    const initial = toText(shape, value);
    const common = { id, name, 'aria-describedby': `${hintId} ${errorId}`, disabled: readOnly, 'aria-required': required ? 'true' : undefined };
    let input: FieldControl['input'];
    if (shape === 'enum') {
      const select = h('select', common, nullable || !required ? h('option', { value: '' }, '(default)') : null, (schema.enum ?? []).map((v) => h('option', { value: String(v) }, String(v))));
      select.value = initial;
      input = select;
    } else if (shape === 'boolean') {
      const checked = value === undefined ? schema.default === true : value === true;
      input = h('input', { ...common, type: 'checkbox', checked });
    } else if (shape === 'textarea' || shape === 'json') {
      input = h('textarea', { ...common, rows: shape === 'json' ? 4 : 3, spellcheck: 'false' });
      input.value = initial;
    } else {
      input = h('input', { ...common, type: credential ? 'password' : shape === 'number' ? 'number' : 'text', autocomplete: credential ? 'new-password' : 'off', value: initial });
    }
    const hints: string[] = [];
    if (schema.description) hints.push(schema.description);
    if (shape === 'list') hints.push('comma-separated');
    if (shape === 'json') hints.push('JSON');
    if (credential) hints.push(this.current ? 'write-only: leave empty to keep the stored value' : 'write-only: stored encrypted, never shown again');
    if (raw.default !== undefined && raw.default !== null && shape !== 'boolean') hints.push(`default ${JSON.stringify(raw.default)}`);
    const error = h('div', { class: 'error', id: errorId });
    const label = h('label', { for: id }, name, required ? ' *' : '');
    const wrapper = shape === 'boolean'
      ? h('div', { class: 'field' }, h('label', { for: id }, input, ' ', name), h('div', { class: 'hint', id: hintId }, hints.join(' · ')), error)
      : h('div', { class: 'field' }, label, h('div', { class: 'hint', id: hintId }, hints.join(' · ')), input, error);
    this.controls.push({ name, shape, input, error, wrapper, nullable, credential, initial: shape === 'boolean' ? String((input as HTMLInputElement).checked) : initial });
    return wrapper;
  }

  /** The body to send, or undefined after marking fields the page itself cannot read (bad JSON). */
  read(): Record<string, unknown> | undefined {
    this.clearErrors();
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const c of this.controls) {
      const text = c.shape === 'boolean' ? String((c.input as HTMLInputElement).checked) : c.input.value;
      if (this.current && text === c.initial && !c.credential) continue;
      if (text.trim() === '') {
        if (this.current && !c.credential && c.initial !== '') out[c.name] = c.shape === 'list' ? [] : c.nullable ? null : c.shape === 'json' ? {} : '';
        continue;
      }
      try {
        out[c.name] = parse(c.shape, text);
      } catch (e) {
        this.mark(c, `not valid JSON: ${(e as Error).message}`);
        ok = false;
      }
    }
    return ok ? out : undefined;
  }

  clearErrors(): void {
    this.formError.replaceChildren();
    for (const c of this.controls) {
      c.error.textContent = '';
      c.input.removeAttribute('aria-invalid');
    }
  }

  private mark(c: FieldControl, message: string): void {
    c.error.textContent = message;
    c.input.setAttribute('aria-invalid', 'true');
  }

  /** Show a problem+json answer: each `errors[].path` at its field, the rest above the form. */
  showProblem(error: ApiError): void {
    this.clearErrors();
    const loose: string[] = [];
    let first: FieldControl | undefined;
    for (const e of error.problem.errors ?? []) {
      const name = /^\$\.?([\w-]+)/.exec(e.path)?.[1] ?? e.path.split('.')[0];
      const c = this.controls.find((x) => x.name === name);
      if (c) {
        this.mark(c, `${e.path}: ${e.message}`);
        first ??= c;
      } else loose.push(`${e.path}: ${e.message}`);
    }
    this.formError.replaceChildren(h('div', { class: 'alert' }, h('strong', {}, error.problem.code ?? `HTTP ${error.status}`), ' ', error.problem.detail ?? '', loose.length ? h('ul', {}, loose.map((l) => h('li', {}, l))) : null));
    (first?.input ?? this.formError).focus?.();
  }
}

function parse(shape: Shape, text: string): unknown {
  switch (shape) {
    case 'number':
      return Number(text);
    case 'boolean':
      return text === 'true';
    case 'list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    case 'json':
      return JSON.parse(text);
    default:
      return text;
  }
}

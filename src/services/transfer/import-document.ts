import { contextForgeShapeErrors, fromContextForge, isContextForge, type Reenter } from '../../domain/contextforge.js';
import { KIND_DEFS, KINDS, type Kind } from '../../domain/entities.js';
import { EXPORT_VERSION, exportDocumentSchema, keyOf, type ExportDocument } from '../../domain/export-document.js';
import { isObject } from '../../domain/merge-patch.js';
import { findUnsafeString } from '../../domain/text.js';
import { GatewayError, type FieldError } from '../../errors.js';
import { zodErrors } from '../../domain/fields.js';

/** A document read and validated: ready to plan against a target. */
export interface ReadDocument {
  doc: ExportDocument;
  format: 'native' | 'contextforge';
  /** What a ContextForge file carried differently or not at all, as `PATH: message`. */
  notes: string[];
  /** What was dropped as untrustworthy (masked values, credentials the file lacks), by path in the file. */
  warnings: FieldError[];
  /** Objects whose credentials must be entered again after the import. */
  reenter: Reenter[];
  /** Where each object sits in the file, as a JSON path (`$.servers[3]`), for messages. */
  paths: Record<Kind, string[]>;
  /** Turn a path in the converted document (`$.tools[0].response_path`) into the path in the file as written. */
  origin: (path: string) => string;
  /** Every name the file knows each object by (its key here first). */
  aliases: Record<Kind, string[][]>;
}

/** At most this many findings are listed; the count says how many there were. */
const MAX_LISTED = 50;

/** Parse JSON text, or fail saying where it stops being JSON (truncated files included). */
export function parseJsonText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new GatewayError('IMPORT_INVALID', `${source} is empty`);
  try {
    return JSON.parse(body);
  } catch (error) {
    // V8 quotes a snippet of the input ("…" is not valid JSON); a file may hold secrets, so drop it.
    const message = (error instanceof Error ? error.message : String(error)).replace(/, ".*" is not valid JSON$/s, '');
    const position = /position (\d+)/.exec(message);
    if (/end of JSON input|Unterminated/i.test(message) || (position && Number(position[1]) >= body.trimEnd().length)) {
      throw new GatewayError('IMPORT_INVALID', `${source} is not complete JSON: it ends early (truncated?) after ${body.length} characters`);
    }
    const where = position ? ` at ${lineColumn(body, Number(position[1]))}` : '';
    throw new GatewayError('IMPORT_INVALID', `${source} is not JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

/**
 * Validate a parsed file as an export document (or a ContextForge export): version, schema,
 * duplicate keys, unsafe text. Throws with every finding named by JSON path.
 */
export function readDocument(value: unknown, base = '$'): ReadDocument {
  if (!isObject(value)) throw invalid([{ path: base, message: 'must be a JSON object (an export document)' }]);
  let input: Record<string, unknown> = value;
  let format: ReadDocument['format'] = 'native';
  let notes: string[] = [];
  let warnings: FieldError[] = [];
  let reenter: Reenter[] = [];
  let fileAliases: Record<Kind, string[][]> | undefined;
  let origin = (path: string) => (base === '$' ? path : base + path.slice(1));
  // An `entities` key means ContextForge's layout (an export document of ours has none): a file
  // of that shape that cannot be read is refused with its paths, never converted to nothing.
  if ('entities' in value) {
    const shape = contextForgeShapeErrors(value, base);
    if (shape.length > 0) throw invalid(shape);
  }
  if (isContextForge(value)) {
    const conversion = fromContextForge(value, `${base}.entities`);
    input = conversion.document;
    format = 'contextforge';
    notes = conversion.notes.map((n) => `${n.path}: ${n.message}`);
    warnings = conversion.warnings;
    reenter = conversion.reenter;
    fileAliases = conversion.aliases;
    origin = (path) =>
      path.replace(/^\$\.(\w+)\[(\d+)\](?:\.(\w+))?/, (whole, kind: Kind, index: string, field: string | undefined) => {
        const at = conversion.origins[kind]?.[Number(index)];
        if (at === undefined) return whole;
        return field === undefined ? at : `${at}.${conversion.fields[kind]?.[Number(index)]?.[field] ?? field}`;
      });
  } else {
    checkVersion(value.version, base);
  }
  const unsafe = findUnsafeString(value, base);
  if (unsafe) throw invalid([unsafe]);

  const parsed = exportDocumentSchema.safeParse(input);
  if (!parsed.success) throw invalid(zodErrors(parsed.error).map((e) => ({ ...e, path: origin(e.path) })));
  const doc = parsed.data as unknown as ExportDocument;

  const errors: FieldError[] = [];
  for (const kind of KINDS) {
    const seen = new Map<string, number>();
    doc[kind].forEach((object, index) => {
      if (kind === 'resources' && object.name === undefined) object.name = object.uri;
      const key = keyOf(kind, object);
      const path = origin(`$.${kind}[${index}]`);
      const first = seen.get(key);
      if (first !== undefined) {
        errors.push({ path: `${path}.${KIND_DEFS[kind].keyField}`, message: `"${key}" appears twice in the file (also at ${origin(`$.${kind}[${first}]`)})` });
      } else {
        seen.set(key, index);
      }
      if (kind === 'tools' && object.integration_type === 'MCP') {
        errors.push({ path: `${path}.integration_type`, message: 'MCP tools come from their gateway and cannot be imported; import the gateway' });
      }
    });
  }
  if (errors.length > 0) throw invalid(errors);
  const paths = Object.fromEntries(KINDS.map((kind) => [kind, doc[kind].map((_, index) => origin(`$.${kind}[${index}]`))])) as Record<Kind, string[]>;
  const aliases = Object.fromEntries(
    KINDS.map((kind) => [kind, doc[kind].map((object, index) => [...new Set([keyOf(kind, object), ...(fileAliases?.[kind]?.[index] ?? [])])])]),
  ) as Record<Kind, string[][]>;
  return { doc, format, notes, warnings, reenter, paths, origin, aliases };
}

function checkVersion(version: unknown, base: string): void {
  if (version === EXPORT_VERSION) return;
  const at = `${base}.version`;
  const detail =
    version === undefined
      ? `${at} is missing; this gateway reads export documents of version "${EXPORT_VERSION}"`
      : `${at} ${JSON.stringify(version)} is not a version this gateway reads (it reads "${EXPORT_VERSION}")`;
  throw new GatewayError('IMPORT_VERSION_UNSUPPORTED', detail, [{ path: at, message: detail.slice(at.length + 1) }]);
}

/** An IMPORT_INVALID error listing (at most MAX_LISTED of) the findings. */
export function invalid(errors: FieldError[]): GatewayError {
  const listed = errors.slice(0, MAX_LISTED);
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new GatewayError('IMPORT_INVALID', `${first.path}: ${first.message}${more}`, listed);
}

function lineColumn(text: string, position: number): string {
  let line = 1;
  let start = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return `line ${line}, column ${position - start + 1}`;
}

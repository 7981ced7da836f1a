/**
 * The one server-sent events codec (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * every SSE body the gateway reads goes through `SseDecoder` (the line grammar is
 * eventsource-parser's), and every frame it writes is made by `sseEvent` or `sseComment`.
 */
import { createParser, type EventSourceParser } from 'eventsource-parser';

/** One dispatched event: its data lines joined by `\n`; `event` and `id` as sent, when sent. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseDecoderOptions {
  /**
   * Largest event: a finished event's data in UTF-8 bytes, and (so an endless event cannot grow
   * memory) the part still arriving, in characters as the parser holds it.
   */
  maxEventBytes?: number;
  /** The error thrown past `maxEventBytes` (callers name their own limit). */
  tooLarge?: (max: number) => Error;
}

const BOM = 0xfeff;

/** A streaming SSE decoder: feed it chunks cut anywhere (even inside a UTF-8 character), get whole events. */
export class SseDecoder {
  private readonly parser: EventSourceParser;
  private readonly text = new TextDecoder();
  private events: SseEvent[] = [];
  private overflow = false;
  private started = false;

  constructor(private readonly options: SseDecoderOptions = {}) {
    const max = options.maxEventBytes;
    this.parser = createParser({
      onEvent: (e) => {
        if (max !== undefined && Buffer.byteLength(e.data) > max) this.overflow = true;
        else this.events.push(e);
      },
      // Only the buffer overflow matters: unknown fields and bad retry values are ignored, as the spec says.
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.overflow = true;
      },
      ...(max !== undefined ? { maxBufferSize: max } : {}),
    });
  }

  /** The events this chunk completes; throws `tooLarge` once an event passes the limit. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.feed(typeof chunk === 'string' ? chunk : this.text.decode(chunk, { stream: true }));
    return this.take();
  }

  /** The events the end of the stream completes: an unterminated last event still counts (a lenient reader). */
  end(): SseEvent[] {
    this.feed(this.text.decode());
    // A blank line ends the pending line (if any) and then the pending event.
    this.feed('\n\n');
    return this.take();
  }

  private feed(text: string): void {
    if (!this.started && text !== '') {
      this.started = true;
      // TextDecoder drops a leading BOM from bytes; a text stream's is dropped here.
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    if (text !== '' && !this.overflow) this.parser.feed(text);
  }

  private take(): SseEvent[] {
    if (this.overflow) {
      const max = this.options.maxEventBytes!;
      throw this.options.tooLarge?.(max) ?? new Error(`a server-sent event exceeds ${max} bytes`);
    }
    const events = this.events;
    this.events = [];
    return events;
  }
}

/** Every event of an SSE body as it arrives (the end of the body finishes an unterminated last event). */
export async function* sseEvents(body: AsyncIterable<Uint8Array | string>, options?: SseDecoderOptions): AsyncGenerator<SseEvent> {
  const decoder = new SseDecoder(options);
  for await (const chunk of body) yield* decoder.push(chunk);
  yield* decoder.end();
}

/** A JSON-RPC message as read off an event stream: only as far as routing needs. */
export interface SseMessage {
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/**
 * The JSON messages of an SSE body as they arrive: blank (priming) events and data that is not a
 * JSON object are skipped, as a JSON-RPC peer ignores them.
 */
export async function* sseMessages(body: AsyncIterable<Uint8Array | string>, options?: SseDecoderOptions): AsyncGenerator<SseMessage> {
  for await (const { data } of sseEvents(body, options)) {
    if (!data.trim()) continue;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      continue;
    }
    if (message !== null && typeof message === 'object') yield message as SseMessage;
  }
}

/** The data of the last event of a complete SSE body that carries any (blank data skipped), or undefined. */
export function lastSseData(body: string): string | undefined {
  const decoder = new SseDecoder();
  let data: string | undefined;
  for (const event of [...decoder.push(body), ...decoder.end()]) if (event.data.trim() !== '') data = event.data;
  return data;
}

const LINE_BREAK = /\r\n|\r|\n/;

/** One event frame: `event:` and `id:` when given, a `data:` line per line of `data`, then the blank line. */
export function sseEvent(data: string, options: { event?: string; id?: string } = {}): string {
  let frame = '';
  if (options.event !== undefined) frame += `event: ${field('event', options.event)}\n`;
  if (options.id !== undefined) frame += `id: ${field('id', options.id)}\n`;
  for (const line of data.split(LINE_BREAK)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/** A comment frame (a keep-alive, or a note a client ignores): `: text` per line, then the blank line. */
export function sseComment(text: string): string {
  return `${text
    .split(LINE_BREAK)
    .map((line) => `: ${line}\n`)
    .join('')}\n`;
}

/** A field value must stay on its line: a line break in it would start another field. */
function field(name: string, value: string): string {
  if (LINE_BREAK.test(value)) throw new Error(`an SSE ${name} cannot hold a line break`);
  return value;
}

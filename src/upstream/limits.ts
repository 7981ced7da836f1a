import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { SseDecoder } from '../protocol/sse.js';
/**
 * Size and shape bounds (issue 10): every upstream reply is read against MAX_RESPONSE_BYTES, and
 * JSON bodies are measured for nesting depth before anything recursive touches them.
 */

/** The message every oversized upstream reply is reported with (the code names the limit). */
export function tooLargeMessage(what: string, max: number): string {
  return `${what} exceeds MAX_RESPONSE_BYTES (${max} bytes); the rest was not read (UPSTREAM_REPLY_TOO_LARGE)`;
}

/** Read a body as text, stopping (and throwing) past `max` bytes. */
export async function readCappedText(body: AsyncIterable<Buffer | Uint8Array | string>, max: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += buf.length;
    if (size > max) {
      const destroy = (body as { destroy?: () => void }).destroy;
      if (typeof destroy === 'function') destroy.call(body);
      throw new Error(tooLargeMessage(what, max));
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An undici reply body: an async iterable of chunks that can also be read whole. */
export type ReplyBody = AsyncIterable<Buffer | Uint8Array | string> & { text(): Promise<string> };

/**
 * A reply body as text, at most `max` bytes (no `max`: unbounded). When the reply declares a
 * Content-Length within the limit, undici reads it whole (it never delivers more than the declared
 * length), which spares the hot path the chunk-by-chunk iterator; otherwise it is counted as it comes.
 */
export function readReplyText(body: ReplyBody, contentLength: unknown, max: number | undefined, what: string): Promise<string> {
  if (!max) return body.text();
  const declared = typeof contentLength === 'string' && /^\d{1,15}$/.test(contentLength) ? Number(contentLength) : undefined;
  return declared !== undefined && declared <= max ? body.text() : readCappedText(body, max, what);
}

/**
 * A fetch whose responses are bounded: a JSON (or any non-stream) body by `max` bytes in all, an
 * event stream by `max` bytes per event, so a long-lived SSE stream may run for ever but no
 * single message can be larger than the limit. Past it, the body errors and the socket closes.
 */
export function cappedFetch(base: typeof fetch, max: number): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await base(input, init);
    if (!res.body) return res;
    const stream = /text\/event-stream/i.test(res.headers.get('content-type') ?? '');
    // A stream is measured event by event (the events themselves go on to the SDK's own reader).
    const events = stream ? new SseDecoder({ maxEventBytes: max, tooLarge: () => new Error(tooLargeMessage('an event of the upstream stream', max)) }) : undefined;
    let count = 0;
    const limited = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          try {
            if (events) events.push(chunk);
            else if ((count += chunk.byteLength) > max) throw new Error(tooLargeMessage('the upstream reply', max));
          } catch (error) {
            controller.error(error);
            return;
          }
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(limited, { status: res.status, statusText: res.statusText, headers: res.headers });
  }) as typeof fetch;
}

/**
 * The nesting depth of a JSON text is over `max` (arrays and objects, strings skipped), found by
 * one linear scan without recursion, so a body nested thousands deep is refused before a parser
 * or validator could overflow the stack on it.
 */
export function jsonTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** A fetch whose connections go through `dispatcher` (the outbound policy's connector). */
export function policyFetch(dispatcher: Dispatcher): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}

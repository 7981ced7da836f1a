import { describe, expect, it } from 'vitest';
import { lastSseData, SseDecoder, sseComment, sseEvent, sseEvents, type SseEvent } from '../src/protocol/sse.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** Decode `stream` fed as the given byte chunks. */
function decode(chunks: Uint8Array[], options?: ConstructorParameters<typeof SseDecoder>[0]): SseEvent[] {
  const decoder = new SseDecoder(options);
  return [...chunks.flatMap((c) => decoder.push(c)), ...decoder.end()];
}

/** `stream` cut in two at every byte offset. */
function everySplit(stream: Uint8Array): [number, Uint8Array[]][] {
  return Array.from({ length: stream.length + 1 }, (_, at) => [at, [stream.subarray(0, at), stream.subarray(at)]]);
}

const ev = (data: string, event?: string, id?: string): SseEvent => ({ data, event, id });

// One behaviour a row: the wire text, the events a conforming reader gets from it.
const cases: [string, string, SseEvent[]][] = [
  ['one event', 'data: {"a":1}\n\n', [ev('{"a":1}')]],
  ['an event type and id', 'event: message\nid: 7\ndata: x\n\n', [ev('x', 'message', '7')]],
  ['CRLF line ends', 'event: message\r\ndata: x\r\n\r\ndata: y\r\n\r\n', [ev('x', 'message'), ev('y')]],
  ['bare CR line ends', 'data: x\rdata: y\r\rdata: z\r\r', [ev('x\ny'), ev('z')]],
  ['multi-line data joined by LF', 'data: first\ndata:second\ndata:  third\n\n', [ev('first\nsecond\n third')]],
  ['comments ignored', ': stream open\n\n: keep-alive\ndata: x\n\n', [ev('x')]],
  ['an event without data dispatches nothing', 'event: ping\n\nid: 3\n\n', []],
  ['a leading BOM dropped once', '\uFEFFdata: x\n\n', [ev('x')]],
  ['UTF-8 kept whole', 'data: héllo ✓ 🎉\n\n', [ev('héllo ✓ 🎉')]],
  ['an unterminated last event still read at the end', 'data: a\n\ndata: b', [ev('a'), ev('b')]],
  ['unknown fields and a bad retry ignored', 'foo: bar\nretry: soon\ndata: x\n\n', [ev('x')]],
];

describe('the SSE decoder', () => {
  it.each(cases)('reads %s from one chunk', (_name, wire, events) => {
    expect(decode([bytes(wire)])).toEqual(events);
  });

  it.each(cases)('reads %s the same when the bytes are cut at any offset', (_name, wire, events) => {
    for (const [at, chunks] of everySplit(bytes(wire))) expect(decode(chunks), `cut at byte ${at}`).toEqual(events);
  });

  it('reads a stream fed one byte at a time, multibyte characters split across chunks', () => {
    const wire = bytes('event: message\r\ndata: {"t":"日本語 🎉"}\r\n\r\n: c\n\ndata: ü\n\n');
    const chunks = Array.from(wire, (b) => Uint8Array.of(b));
    expect(decode(chunks)).toEqual([ev('{"t":"日本語 🎉"}', 'message'), ev('ü')]);
  });

  it('drops a BOM that arrives split over chunks', () => {
    const wire = bytes('\uFEFFdata: x\n\n');
    expect(decode([wire.subarray(0, 1), wire.subarray(1, 2), wire.subarray(2)])).toEqual([ev('x')]);
  });

  it('takes text chunks as well as bytes', () => {
    const decoder = new SseDecoder();
    expect([...decoder.push('\uFEFFdata: a\n'), ...decoder.push('\ndata: b\n\n'), ...decoder.end()]).toEqual([ev('a'), ev('b')]);
  });

  it('throws the caller\'s error for a finished event over the limit, counted in UTF-8 bytes', () => {
    const tooLarge = (max: number) => new Error(`over ${max}`);
    expect(decode([bytes(`data: ${'é'.repeat(5)}\n\n`)], { maxEventBytes: 10, tooLarge })).toEqual([ev('ééééé')]);
    expect(() => decode([bytes(`data: ${'é'.repeat(6)}\n\n`)], { maxEventBytes: 10, tooLarge })).toThrow('over 10');
  });

  it('throws for an event still arriving past the limit, before it ends', () => {
    const decoder = new SseDecoder({ maxEventBytes: 100 });
    expect(decoder.push(`data: ${'x'.repeat(60)}\n`)).toEqual([]);
    expect(() => decoder.push(`data: ${'x'.repeat(60)}`)).toThrow('exceeds 100 bytes');
  });

  it('lets any number of small events through a limit smaller than the stream', () => {
    const wire = bytes(`data: ${'x'.repeat(50)}\n\n`.repeat(100));
    expect(decode([wire], { maxEventBytes: 60 })).toHaveLength(100);
  });

  it('reads events from an async body as they arrive', async () => {
    async function* body() {
      yield bytes('data: a\n\nda');
      yield 'ta: b\n\n';
    }
    const seen: string[] = [];
    for await (const e of sseEvents(body())) seen.push(e.data);
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('the last data of a complete SSE body', () => {
  it('is the data of the last event that has any', () => {
    expect(lastSseData('event: message\ndata: {"id":1}\n\ndata: {"id":2}\r\n\r\n: bye\n\ndata:\n\n')).toBe('{"id":2}');
  });

  it('is undefined for a body without data', () => {
    expect(lastSseData(': only a comment\n\n')).toBeUndefined();
  });
});

describe('the SSE encoder', () => {
  it('writes the event type line before the data line, as every frame the gateway sends', () => {
    expect(sseEvent('{"jsonrpc":"2.0"}', { event: 'message' })).toBe('event: message\ndata: {"jsonrpc":"2.0"}\n\n');
  });

  it('writes an id after the event type', () => {
    expect(sseEvent('x', { event: 'message', id: '42' })).toBe('event: message\nid: 42\ndata: x\n\n');
  });

  it('splits multi-line data into one data line each, which the decoder joins again', () => {
    const frame = sseEvent('a\nb\r\nc\rd');
    expect(frame).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(decode([bytes(frame)])).toEqual([ev('a\nb\nc\nd')]);
  });

  it('refuses an event type or id with a line break, which would start a field of its own', () => {
    expect(() => sseEvent('x', { event: 'a\ndata: injected' })).toThrow('line break');
    expect(() => sseEvent('x', { id: '1\r2' })).toThrow('line break');
  });

  it('writes a comment frame that the decoder skips', () => {
    expect(sseComment('keep-alive')).toBe(': keep-alive\n\n');
    expect(sseComment('two\nlines')).toBe(': two\n: lines\n\n');
    expect(decode([bytes(sseComment('keep-alive') + sseEvent('x'))])).toEqual([ev('x')]);
  });

  it('round-trips every frame it writes through the decoder, cut at any byte', () => {
    const wire = bytes(sseComment('stream open') + sseEvent('{"a":"ü"}', { event: 'message', id: '1' }) + sseEvent('line1\nline2'));
    for (const [at, chunks] of everySplit(wire)) expect(decode(chunks), `cut at byte ${at}`).toEqual([ev('{"a":"ü"}', 'message', '1'), ev('line1\nline2')]);
  });
});

import { createParser } from 'eventsource-parser';

type Obj = Record<string, unknown>;

/** The JSON-RPC answer with this id, from a JSON body or an SSE stream of them (read by eventsource-parser, as the gateway reads SSE). */
export function rpcAnswer(body: unknown, id: number): { result?: Obj; error?: { code: number; message: string } } | undefined {
  if (body && typeof body === 'object') return body as never;
  let answer: Obj | undefined;
  const parser = createParser({
    onEvent(event) {
      try {
        const m = JSON.parse(event.data) as { id?: number };
        if (m.id === id) answer ??= m as Obj;
      } catch {
        // not JSON
      }
    },
  });
  parser.feed(String(body));
  parser.feed('\n\n');
  return answer as never;
}

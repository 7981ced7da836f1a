import { describe, expect, it } from 'vitest';
import { rpcAnswer } from '../src/ui/rpc-answer.js';

// The admin page's tool tester reads a /mcp answer that came as SSE with eventsource-parser, as the
// gateway reads SSE: the answer is found whatever the framing (CRLF, multi-line data, comments).
describe("the tester's SSE reading", () => {
  const answer = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hi' }] } };

  it('finds the answer with its id after notifications, in any line framing', () => {
    const progress = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } });
    for (const eol of ['\n', '\r\n', '\r']) {
      const body = [': stream open', '', `data: ${progress}`, '', 'event: message', `data: ${JSON.stringify(answer)}`, ''].join(eol);
      expect(rpcAnswer(body, 1), JSON.stringify(eol)).toEqual(answer);
    }
  });

  it('reads data split over several data: lines, and an unterminated last event', () => {
    const text = JSON.stringify(answer, null, 1).split('\n');
    expect(rpcAnswer(text.map((line) => `data: ${line}`).join('\n'), 1)).toEqual(answer);
  });

  it('answers undefined when no event carries that id, and passes a JSON body through', () => {
    expect(rpcAnswer(`data: ${JSON.stringify({ ...answer, id: 2 })}\n\ndata: not json\n\n`, 1)).toBeUndefined();
    expect(rpcAnswer(answer, 1)).toBe(answer);
  });
});

import type { RestTool } from '../../src/upstream/rest-executor.js';

/** A REST tool with every field the executor reads at its default; `fields` set what a test is about. */
export function restTool(fields: Partial<RestTool>): RestTool {
  return {
    name: 't',
    url: '/x',
    request_type: 'GET',
    headers: {},
    query: {},
    body: null,
    response_path: null,
    timeout_ms: 5000,
    output_schema: null,
    auth_type: 'none',
    auth_value: null,
    ...fields,
  };
}

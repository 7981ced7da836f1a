/**
 * The one catalogue of coded errors. Every error the gateway reports to a client or a user is
 * made here; `docs/errors.md` documents each code (a test keeps the two in step).
 */

/** One validation finding: where (a JSON path such as `$.tags[2]`) and what. */
export interface FieldError {
  path: string;
  message: string;
}

interface Definition {
  status: number;
  title: string;
}

export const ERRORS = {
  // Request shape
  BODY_NOT_JSON: { status: 400, title: 'Request body is not valid JSON' },
  BODY_EMPTY: { status: 400, title: 'Request body is empty' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  VALIDATION_FAILED: { status: 422, title: 'Validation failed' },
  BAD_QUERY: { status: 400, title: 'Invalid query parameter' },
  BAD_CURSOR: { status: 400, title: 'Invalid pagination cursor' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such endpoint' },

  // Authentication
  AUTH_REQUIRED: { status: 401, title: 'Authentication required' },
  AUTH_INVALID: { status: 401, title: 'Invalid credentials' },
  HOST_NOT_ALLOWED: { status: 403, title: 'Host or Origin not allowed' },

  // Access: roles, stored tokens, OAuth, rate limits (issue 11)
  FORBIDDEN: { status: 403, title: 'This credential may not do that' },
  INSUFFICIENT_SCOPE: { status: 403, title: 'The access token lacks a needed scope' },
  AUTH_THROTTLED: { status: 429, title: 'Too many failed sign-ins' },
  RATE_LIMITED: { status: 429, title: 'Rate limit exceeded' },
  TOKEN_NOT_FOUND: { status: 404, title: 'Token not found' },
  TOKEN_NAME_EXISTS: { status: 409, title: 'A token with this name exists' },
  // Admin page sessions (issue 13: src/http/ui-session.ts)
  SESSION_EXPIRED: { status: 401, title: 'Session expired or signed out' },
  CSRF_INVALID: { status: 403, title: 'Missing or wrong CSRF token' },

  // Objects
  GW_NOT_FOUND: { status: 404, title: 'Gateway not found' },
  SERVER_NOT_FOUND: { status: 404, title: 'Server not found' },
  TOOL_NOT_FOUND: { status: 404, title: 'Tool not found' },
  PROMPT_NOT_FOUND: { status: 404, title: 'Prompt not found' },
  RESOURCE_NOT_FOUND: { status: 404, title: 'Resource not found' },
  GW_NAME_EXISTS: { status: 409, title: 'A gateway with this name exists' },
  SERVER_NAME_EXISTS: { status: 409, title: 'A server with this name exists' },
  TOOL_NAME_EXISTS: { status: 409, title: 'A tool with this name exists' },
  PROMPT_NAME_EXISTS: { status: 409, title: 'A prompt with this name exists' },
  RESOURCE_URI_EXISTS: { status: 409, title: 'A resource with this URI exists' },
  TOOL_READ_ONLY: { status: 409, title: 'This tool is managed by its gateway' },

  // Credentials
  AUTH_VALUE_UNDECRYPTABLE: { status: 422, title: 'auth_value does not decrypt with this instance\'s secret' },

  // Export and import (SPEC §5)
  IMPORT_INVALID: { status: 422, title: 'The import document is invalid' },
  IMPORT_VERSION_UNSUPPORTED: { status: 422, title: 'The import document has a version this gateway does not read' },
  IMPORT_CONFLICT: { status: 409, title: 'Objects in the import document already exist' },
  IMPORT_SECRET_MISMATCH: { status: 422, title: 'auth_value in the import document does not decrypt with this instance\'s secret' },
  IMPORT_DRAFTS_NOT_FOUND: { status: 404, title: 'No import drafts with this id' },
  IMPORT_ACTIVATION_REFUSED: { status: 409, title: 'The drafts cannot be activated' },

  // MCP serving and federation
  GW_UNREACHABLE: { status: 502, title: 'The upstream gateway is unreachable' },
  GW_DISCOVERY_FAILED: { status: 502, title: 'Discovery from the upstream gateway failed' },
  PROMPT_ARGS_INVALID: { status: 422, title: 'Prompt arguments are invalid' },
  PROMPT_RENDER_FAILED: { status: 422, title: 'The prompt template could not be rendered' },

  // Server state
  STORE_UNAVAILABLE: { status: 503, title: 'The database is unavailable' },
  NOT_READY: { status: 503, title: 'The gateway is not ready' },
  INTERNAL: { status: 500, title: 'Internal error' },

  // Capability files and API descriptions (local; never on the wire)
  CAPABILITY_INVALID: { status: 0, title: 'Invalid capability file' },
  DOCUMENT_UNREADABLE: { status: 0, title: 'The document cannot be read' },
  DOCUMENT_REJECTED: { status: 0, title: 'The document was refused as unsafe to process' },
  OPENAPI_INVALID: { status: 0, title: 'Not a valid OpenAPI or Swagger document' },
  IMPORT_SOURCE_INVALID: { status: 0, title: 'The import source cannot be planned' },
  IMPORT_TOO_LARGE: { status: 0, title: 'The import source is over IMPORT_MAX_OPERATIONS or IMPORT_MAX_SCHEMA_NODES' },
  IMPORT_OUTPUT_EXISTS: { status: 0, title: 'The import would overwrite files' },
  IMPORT_MANIFEST_INVALID: { status: 0, title: 'The import manifest does not match the files' },
  IMPORT_NOT_APPROVED: { status: 0, title: 'The activation is not approved' },
  WRITE_FAILED: { status: 0, title: 'Cannot write the output' },

  // Configuration and CLI (local; never on the wire)
  CONFIG_INVALID: { status: 0, title: 'Invalid configuration' },
  CLI_USAGE: { status: 0, title: 'Invalid command line' },
  FILE_UNREADABLE: { status: 0, title: 'The file cannot be read' },
  FILE_TOO_LARGE: { status: 0, title: 'The file is larger than the limit' },
  TARGET_UNREACHABLE: { status: 0, title: 'The gateway does not answer' },
  TARGET_AUTH_FAILED: { status: 0, title: 'The gateway refused the credentials' },
  TARGET_ERROR: { status: 0, title: 'The gateway answered with an error' },
  IMPORT_INCOMPLETE: { status: 0, title: 'Some objects were not imported' },
  REKEY_FAILED: { status: 0, title: 'The file cannot be re-encrypted' },

  // Curation, tool search and client onboarding (issue 14)
  SERVER_TOOL_LIMIT: { status: 422, title: 'The server selects more tools than its max_tools' },
  SERVER_TOOL_NAME_CONFLICT: { status: 422, title: 'Two selected tools would be served under one name' },
  SERVER_TOOL_NAME_INVALID: { status: 422, title: 'A tool override gives a name MCP does not allow' },
  SERVER_TOOL_ARGUMENT_UNKNOWN: { status: 422, title: 'A tool override pins an argument the tool does not have' },
  CLIENT_CONFIG_INVALID: { status: 0, title: 'The client configuration file cannot be read' },
  CLIENT_CONFIG_INCOMPLETE: { status: 0, title: 'Some client entries could not become gateways' },
  REGISTRY_ENTRY_INVALID: { status: 0, title: 'The MCP Registry server.json cannot become a gateway' },
  // Hardening (issue 10): bounds, bad bytes, outbound policy
  BODY_TOO_DEEP: { status: 400, title: 'The body nests too deeply' },
  BODY_NOT_UTF8: { status: 400, title: 'The body is not valid UTF-8' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers are too large' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  GW_INACTIVE: { status: 409, title: 'The gateway is inactive' },
  BATCH_TOO_LARGE: { status: 400, title: 'The JSON-RPC batch holds too many messages' },
  UPSTREAM_REPLY_TOO_LARGE: { status: 502, title: 'The upstream reply exceeds MAX_RESPONSE_BYTES' },
  PROMPT_RENDER_TOO_LARGE: { status: 422, title: 'The rendered prompt exceeds PROMPT_MAX_RENDER_BYTES' },
} as const satisfies Record<string, Definition>;

export type ErrorCode = keyof typeof ERRORS;

/** A coded error: carried through services unchanged and rendered at the edge (HTTP or CLI). */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;

  constructor(code: ErrorCode, detail: string, errors?: FieldError[]) {
    super(detail);
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.title = ERRORS[code].title;
    this.errors = errors;
  }
}

/** Shorthand for a validation failure with field errors. */
export function validationError(errors: FieldError[], detail?: string): GatewayError {
  const first = errors[0];
  const summary = detail ?? (first ? `${first.path}: ${first.message}` : 'the request is invalid');
  const more = errors.length > 1 && !detail ? ` (and ${errors.length - 1} more)` : '';
  return new GatewayError('VALIDATION_FAILED', summary + more, errors);
}

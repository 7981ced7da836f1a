import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths pino blanks out wherever they appear, so a credential never reaches a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.Authorization',
  '*.auth_password',
  '*.auth_token',
  '*.auth_headers',
  '*.auth_oauth2',
  '*.auth_value',
  '*.client_secret',
  '*.password',
  '*.token',
  '*.secret',
];

/** The process logger: JSON lines with redaction; `stream` lets tests capture every line. */
export function createLogger(level: string, stream?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return stream ? pino(options, stream) : pino(options);
}

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
  '*.auth_query_params',
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

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A per-request logger that becomes a real pino child only when something is logged at an
 * enabled level. Fastify makes a child logger for every request; on the MCP hot path, where
 * nothing is logged unless it fails, building one (bindings, redaction) cost more than the
 * routing. Used as the MCP routes' `childLoggerFactory`.
 */
export class LazyChildLogger {
  private real: Logger | undefined;
  private readonly threshold: number;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: { level?: string },
  ) {
    this.threshold = parent.levels.values[options.level ?? parent.level] ?? 0;
  }

  get level(): string {
    return this.real?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.materialize().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.parent.levels.values[level] ?? Infinity) >= this.threshold;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): Logger {
    return this.materialize().child(bindings, options);
  }

  private write(method: LogMethod, args: unknown[]): void {
    if (this.real === undefined && (this.parent.levels.values[method] ?? 0) < this.threshold) return;
    (this.materialize()[method] as (...a: unknown[]) => void)(...args);
  }

  private materialize(): Logger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }
}

/** Fastify `childLoggerFactory` making LazyChildLogger instances. */
export function lazyChildLoggerFactory(logger: Logger, bindings: Record<string, unknown>, options: { level?: string }): Logger {
  return new LazyChildLogger(logger, bindings, options) as unknown as Logger;
}

import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { CapabilityCatalog } from './capabilities/catalog.js';
import { authEnforced, checkSecurity, type Config } from './config.js';
import { AuthCipher } from './crypto/auth-value.js';
import { buildApp } from './http/app.js';
import { createLogger } from './logging.js';
import { Registry } from './services/registry.js';
import { Store } from './store/store.js';

/** A running gateway: its parts, and how to stop it. */
export interface Gateway {
  app: FastifyInstance;
  store: Store;
  registry: Registry;
  /** Tools from the capability files of CAPABILITY_DIRS. */
  capabilities: CapabilityCatalog;
  logger: Logger;
  config: Config;
  /** The address it listens on, once started. */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where log lines go (tests capture them); stdout otherwise. */
  logStream?: DestinationStream;
  /** Build without listening (for in-process callers). */
  listen?: boolean;
}

const GENERATED_SECRET_KEY = 'generated_auth_encryption_secret';

/** The composition root: config → logger, store, registry, HTTP app → listening server. */
export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {
  const warnings = checkSecurity(config);
  const logger = createLogger(config.logLevel, options.logStream);
  for (const warning of warnings) logger.warn(warning);

  const store = await Store.open(config.databaseUrl);
  const capabilities = new CapabilityCatalog(config.capabilityDirs, logger);
  try {
    const secret = config.encryptionSecret ?? (await generatedSecret(store, logger));
    const registry = new Registry(store, new AuthCipher(secret));
    await capabilities.start();
    registry.attachReadOnlyTools(capabilities);
    const app = buildApp({
      store,
      registry,
      logger,
      auth: { enforced: authEnforced(config), basicUser: config.basicUser, basicPassword: config.basicPassword, jwtSecret: config.jwtSecret },
      bodyLimitBytes: config.bodyLimitBytes,
    });
    let url = '';
    if (options.listen !== false) {
      url = await app.listen({ host: config.host, port: config.port });
      logger.info({ url, database: store.description }, 'mcpgateway listening');
    } else {
      await app.ready();
    }
    return {
      app,
      store,
      registry,
      capabilities,
      logger,
      config,
      url,
      async close() {
        await app.close();
        await capabilities.close();
        await store.close();
      },
    };
  } catch (error) {
    await capabilities.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Loopback trial runs without AUTH_ENCRYPTION_SECRET get a random secret kept in the database,
 * so credentials survive restarts; checkSecurity has already refused this off loopback.
 */
async function generatedSecret(store: Store, logger: Logger): Promise<string> {
  const secret = await store.initSetting(GENERATED_SECRET_KEY, randomBytes(32).toString('base64url'));
  logger.warn('using a generated encryption secret stored in the database; exports from here import only where the same secret is set');
  return secret;
}

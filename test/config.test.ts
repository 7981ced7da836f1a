import { describe, expect, it } from 'vitest';
import { checkSecurity, isLoopback, loadConfig } from '../src/config.js';
import { GatewayError } from '../src/errors.js';

const STRONG = 'x'.repeat(32);
const secure = { AUTH_ENCRYPTION_SECRET: STRONG, JWT_SECRET_KEY: STRONG, BASIC_AUTH_USER: 'admin', BASIC_AUTH_PASSWORD: 'long-enough-password' };

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 4444, databaseUrl: 'sqlite:./mcpgateway.db', authRequired: true, capabilityDirs: ['capabilities'], bodyLimitBytes: 1_048_576 });
  });

  it('reads TRUST_PROXY as off, a hop count or named proxies, and refuses "everyone" and junk', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.0.2.7' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    for (const bad of ['true', '*', 'nginx.internal', '10.0.0.0/33', '10.0.0.1/8/1', '0']) {
      let error: unknown;
      try {
        loadConfig({ TRUST_PROXY: bad });
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('CONFIG_INVALID');
      expect((error as GatewayError).message).toContain('TRUST_PROXY');
    }
  });

  it('takes a name separator of 1-4 name characters and refuses any other, naming the variable', () => {
    expect(loadConfig({}).mcp.nameSeparator).toBe('__');
    expect(loadConfig({ FEDERATION_NAME_SEPARATOR: '-' }).mcp.nameSeparator).toBe('-');
    expect(loadConfig({ FEDERATION_NAME_SEPARATOR: 'a_B-' }).mcp.nameSeparator).toBe('a_B-');
    for (const bad of ['.', '/', '_____', ' __', '::']) {
      expect(() => loadConfig({ FEDERATION_NAME_SEPARATOR: bad }), JSON.stringify(bad)).toThrow(/FEDERATION_NAME_SEPARATOR/);
    }
  });

  it('lets flags override variables', () => {
    expect(loadConfig({ PORT: '5000' }, { port: '6000' }).port).toBe(6000);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be between/],
    [{ AUTH_REQUIRED: 'maybe' }, /AUTH_REQUIRED must be true or false/],
    [{ BASIC_AUTH_USER: 'admin' }, /must be set together/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ BODY_LIMIT_BYTES: '10' }, /BODY_LIMIT_BYTES must be between/],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('checkSecurity', () => {
  it('accepts strong secrets anywhere, with no warning', () => {
    expect(checkSecurity(loadConfig({ ...secure, HOST: '0.0.0.0' }))).toEqual([]);
  });

  it('warns, once per problem, about a missing or weak secret on loopback', () => {
    const warnings = checkSecurity(loadConfig({ ...secure, AUTH_ENCRYPTION_SECRET: 'short' }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/AUTH_ENCRYPTION_SECRET is shorter than 32 bytes.*loopback/);
  });

  it.each([
    ['a missing encryption secret', { ...secure, AUTH_ENCRYPTION_SECRET: '' }, /AUTH_ENCRYPTION_SECRET is not set/],
    ['a weak JWT secret', { ...secure, JWT_SECRET_KEY: 'short' }, /JWT_SECRET_KEY is shorter than 32 bytes/],
    ['AUTH_REQUIRED=false', { ...secure, AUTH_REQUIRED: 'false' }, /AUTH_REQUIRED=false/],
    ['no credentials at all', { AUTH_ENCRYPTION_SECRET: STRONG }, /no credentials are configured/],
  ])('refuses %s off loopback, saying why', (_label, env, message) => {
    let caught: unknown;
    try {
      checkSecurity(loadConfig({ ...env, HOST: '0.0.0.0' }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GatewayError);
    expect((caught as GatewayError).code).toBe('CONFIG_INVALID');
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toMatch(/not a loopback address/);
  });

  it('never puts a secret value into its messages', () => {
    const warnings = checkSecurity(loadConfig({ ...secure, AUTH_ENCRYPTION_SECRET: 'tiny-secret' }));
    expect(warnings.join(' ')).not.toContain('tiny-secret');
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.js';

/** Debian's nginx (`apt-get install nginx`; .ci/run installs it when missing). */
export const NGINX = '/usr/sbin/nginx';

export const nginxInstalled = (): boolean => existsSync(NGINX);

/** One line of the access log the test's nginx writes. */
export interface AccessLine {
  method: string;
  uri: string;
  status: number;
  /** Every instance nginx tried for this request, in order (`$upstream_addr`). */
  upstreams: string[];
}

/** An nginx of the test's own: its own prefix, pid file, logs and temp paths, in the foreground. */
export interface OwnNginx {
  url: string;
  port: number;
  accessLog(): AccessLine[];
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * Run nginx as a child process (`daemon off`, `master_process off`: one process, so a SIGKILL
 * leaves no worker behind) with `site` included in its http {} context. `site` must listen on
 * the port it is given. Every answer carries `X-Upstream: $upstream_addr`, which instance(s) served it.
 */
export async function startNginx(site: (port: number) => string): Promise<OwnNginx> {
  if (!nginxInstalled()) throw new Error(`${NGINX} is not installed (apt-get install -y nginx)`);
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-nginx-'));
  // When the test runs as root, nginx's worker code runs as nobody and must reach its temp paths.
  chmodSync(dir, 0o755);
  const port = await freePort();
  writeFileSync(join(dir, 'site.conf'), site(port));
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 1024; }
http {
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    log_format failover '$request_method $request_uri $status "$upstream_addr"';
    access_log ${dir}/access.log failover;
    add_header X-Upstream $upstream_addr always;
    include ${dir}/site.conf;
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += String(c)));
  child.stderr!.on('data', (c) => (output += String(c)));
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const why = `${output}${read('error.log')}`;
      await stop();
      throw new Error(`nginx exited with ${child.exitCode}: ${why}`);
    }
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const why = read('error.log');
      await stop();
      throw new Error(`nginx on ${port} did not answer /health: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    errorLog: () => read('error.log'),
    accessLog: () =>
      read('access.log')
        .split('\n')
        .map((line) => /^(\S+) (\S+) (\d+) "(.*)"$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ method: m[1]!, uri: m[2]!, status: Number(m[3]), upstreams: m[4]!.split(/, | : /).filter((a) => a !== '' && a !== '-') })),
    stop,
  };
}

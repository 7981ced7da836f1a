import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GatewayError } from '../errors.js';
import { writeCapabilities, type FileToWrite } from './write.js';

/**
 * Writing capabilities while they are still being converted (`cap import`). Into a folder that
 * does not exist yet, a worker thread formats and writes each file into the staging folder as
 * soon as it is added, so the YAML text and the file creation run on the second core beside the
 * conversion; `finish` renames the staging folder into place. Anywhere else (the folder exists,
 * the staging folder cannot be made, the worker cannot start) the files are collected and
 * `finish` hands them to `writeCapabilities`, with its rules about overwrites. Either way the
 * files and the errors are the same as `writeCapabilities` gives.
 */
export class CapabilityFolderWriter {
  private readonly root: string;
  private readonly files: FileToWrite[] = [];
  private staging: string | undefined;
  private worker: Worker | undefined;

  /** `threaded: false` always collects (a thread costs more to start than a small document takes to write). */
  constructor(
    private readonly dir: string,
    private readonly force: boolean,
    threaded = true,
  ) {
    this.root = resolve(dir);
    if (threaded) this.start();
  }

  /** Queue one file; with a worker running, it is written at once. */
  add(file: FileToWrite): void {
    // Names match ^[A-Za-z0-9][A-Za-z0-9_-]*$, so this cannot happen; checked anyway, as writeCapabilities does.
    if (!join(this.root, `${file.capability.name}.yaml`).startsWith(this.root + sep)) throw new GatewayError('CAPABILITY_INVALID', `"${file.capability.name}" would be written outside ${this.dir}`);
    this.files.push(file);
    this.worker?.postMessage(file);
  }

  /** Every file written (or the error `writeCapabilities` would give); the paths written. */
  async finish(): Promise<string[]> {
    const worker = this.worker;
    const staging = this.staging;
    if (!worker || !staging) return writeCapabilities(this.dir, this.files, this.force);
    this.worker = undefined;
    this.staging = undefined;
    let reply: { done?: true; error?: string };
    try {
      reply = await new Promise((resolveReply, reject) => {
        worker.once('message', resolveReply);
        worker.once('error', reject);
        worker.postMessage('end');
      });
    } catch (error) {
      reply = { error: (error as Error).message };
    }
    await worker.terminate();
    if (reply.error === undefined) {
      try {
        renameSync(staging, this.root);
        return this.files.map((f) => join(this.root, `${f.capability.name}.yaml`));
      } catch (error) {
        rmSync(staging, { recursive: true, force: true });
        const code = (error as NodeJS.ErrnoException).code;
        // The folder appeared meanwhile: the per-file path decides, as writeCapabilities does.
        if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR') return writeCapabilities(this.dir, this.files, this.force);
        throw new GatewayError('WRITE_FAILED', `cannot write to ${this.dir}: ${(error as Error).message}`);
      }
    }
    rmSync(staging, { recursive: true, force: true });
    throw new GatewayError('WRITE_FAILED', `cannot write to ${this.dir}: ${reply.error}`);
  }

  /** Stop without writing anything (the conversion failed): the staging folder goes. */
  async abort(): Promise<void> {
    await this.worker?.terminate();
    if (this.staging) rmSync(this.staging, { recursive: true, force: true });
    this.worker = undefined;
    this.staging = undefined;
  }

  /** A staging folder and its worker, when the target folder is new; otherwise nothing (collect). */
  private start(): void {
    const script = new URL('./write-worker.js', import.meta.url);
    // Under the TypeScript sources (tests) there is no compiled worker: collect.
    if (existsSync(this.root) || !existsSync(fileURLToPath(script))) return;
    const parent = dirname(this.root);
    const staging = join(parent, `.${basename(this.root)}.tmp-${process.pid}`);
    try {
      if (!isDirectory(parent)) mkdirSync(parent, { recursive: true });
      mkdirSync(staging);
    } catch {
      return;
    }
    this.staging = staging;
    this.worker = new Worker(script, { workerData: { staging } });
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

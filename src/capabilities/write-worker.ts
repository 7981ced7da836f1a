import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { formatCapability } from './format.js';
import type { FileToWrite } from './write.js';

/**
 * The thread behind `CapabilityFolderWriter`: formats and writes each capability it is sent into
 * the staging folder, on the second core while the main thread goes on converting. Answers
 * `end` with `done`, or with the first error.
 */
const staging = (workerData as { staging: string }).staging;
let failure: string | undefined;
parentPort!.on('message', (message: FileToWrite | 'end') => {
  if (message === 'end') {
    parentPort!.postMessage(failure === undefined ? { done: true } : { error: failure });
    return;
  }
  if (failure !== undefined) return;
  try {
    writeFileSync(join(staging, `${message.capability.name}.yaml`), formatCapability(message.capability, message.header));
  } catch (error) {
    failure = (error as Error).message;
  }
});

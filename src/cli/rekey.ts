import type { Command } from 'commander';
import { AuthCipher } from '../crypto/auth-value.js';
import { KINDS } from '../domain/entities.js';
import { EXPORT_VERSION, serializeDocument, type ExportDocument } from '../domain/export-document.js';
import { encryptedValues } from '../domain/encrypted-fields.js';
import { isObject } from '../domain/merge-patch.js';
import { GatewayError } from '../errors.js';
import { maxFileBytes, readJsonFile } from './read-file.js';
import { writeFileAtomic } from '../files/writer.js';

interface RekeyFlags {
  in: string;
  out: string;
  maxBytes?: string;
}

/** `mcpgateway export rekey`: re-encrypt every auth_value in a file from one secret to another, offline. */
export function rekeyCommand(exportCommand: Command): void {
  exportCommand
    .command('rekey')
    .description('re-encrypt a file\'s credentials from OLD_AUTH_ENCRYPTION_SECRET to AUTH_ENCRYPTION_SECRET (read from the environment only)')
    .requiredOption('--in <file>', 'the export file (or ContextForge export) to read')
    .requiredOption('--out <file>', 'where to write the re-encrypted file (may be the same file)')
    .option('--max-bytes <n>', 'refuse files larger than this (MCPGATEWAY_IMPORT_MAX_BYTES, default 256 MiB)')
    .action((flags: RekeyFlags) => {
      const oldSecret = process.env.OLD_AUTH_ENCRYPTION_SECRET;
      const newSecret = process.env.AUTH_ENCRYPTION_SECRET;
      if (!oldSecret) throw new GatewayError('CONFIG_INVALID', 'OLD_AUTH_ENCRYPTION_SECRET is not set: it must hold the secret the file was encrypted with');
      if (!newSecret) throw new GatewayError('CONFIG_INVALID', 'AUTH_ENCRYPTION_SECRET is not set: it must hold the target gateway\'s secret');
      const file = readJsonFile(flags.in, maxFileBytes(flags.maxBytes));
      const { text, count } = rekeyDocument(file, new AuthCipher(oldSecret), new AuthCipher(newSecret));
      writeFileAtomic(flags.out, text, { mode: 0o600, fsync: true });
      process.stderr.write(`re-encrypted ${count} encrypted value${count === 1 ? '' : 's'} into ${flags.out}\n`);
    });
}

/**
 * Re-encrypt, in place, every encrypted value of a native or ContextForge document (the walk of
 * ENCRYPTED_FIELDS: auth_value, query parameter credentials, …). Throws naming every value that
 * does not open with `from`, before changing any. `fromName` names the old secret in messages.
 */
export function rekeyValues(file: Record<string, unknown>, from: AuthCipher, to: AuthCipher, fromName: string, base = '$'): { count: number } {
  const values = encryptedValues(file, base);
  const failures: string[] = [];
  const plain = values.map((v) => {
    try {
      return from.decrypt(v.value);
    } catch {
      failures.push(`${v.path} (${v.label})`);
      return undefined;
    }
  });
  if (failures.length > 0) {
    const listed = failures.slice(0, 20).join(', ') + (failures.length > 20 ? ` and ${failures.length - 20} more` : '');
    throw new GatewayError('REKEY_FAILED', `${failures.length} encrypted value${failures.length > 1 ? 's do' : ' does'} not decrypt with ${fromName}: ${listed}; nothing was written`);
  }
  values.forEach((v, i) => v.set(to.encrypt(plain[i]!)));
  return { count: values.length };
}

/** Re-encrypt every encrypted value of a native or ContextForge document; nothing changes if any fails. */
export function rekeyDocument(file: unknown, from: AuthCipher, to: AuthCipher): { text: string; count: number } {
  if (!isObject(file)) throw new GatewayError('REKEY_FAILED', 'the file is not an export document (not a JSON object)');
  const contextForge = isObject(file.entities);
  if (!contextForge && file.version !== EXPORT_VERSION) {
    throw new GatewayError('REKEY_FAILED', `$.version ${JSON.stringify(file.version)} is not a version this gateway reads (it reads "${EXPORT_VERSION}")`);
  }
  const { count } = rekeyValues(file, from, to, 'OLD_AUTH_ENCRYPTION_SECRET');
  const known = Object.keys(file).every((k) => ['version', 'exported_at', 'source_gateway', 'encryption_method', ...KINDS].includes(k));
  const text = !contextForge && known ? serializeDocument(file as unknown as ExportDocument) : `${JSON.stringify(file, null, 2)}\n`;
  return { text, count };
}

import type { Capability } from './schema.js';
import { toYaml } from './yaml-writer.js';

/**
 * Writing a capability file. Kept apart from reading (file.ts): `cap import` writes files
 * without loading the YAML parser or the zod schemas.
 */

/** A capability as YAML: stable key order, no anchors, long strings unfolded; an optional header comment. */
export function formatCapability(cap: Capability, header?: string): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (cap[key] !== undefined) ordered[key] = cap[key];
  // `required` first: it says whether the rest of the block matters.
  const { required, ...auth } = cap.auth;
  ordered.auth = { required, ...auth };
  const body = toYaml(ordered);
  const comment = header ? header.split('\n').map((line) => `# ${line}`.trimEnd()).join('\n') + '\n' : '';
  return comment + body;
}

const KEY_ORDER = ['fulcrum', 'name', 'title', 'description', 'enabled', 'schema', 'providers', 'cache', 'rate_limit', 'auth', 'annotations', 'metadata'] as const;

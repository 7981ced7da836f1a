/** Largest API description or capability file read by default (64 MiB); --max-bytes changes it. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

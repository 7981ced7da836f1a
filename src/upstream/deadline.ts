/** One abort signal and a time limit for an upstream request. */
export interface Deadline {
  signal: AbortSignal;
  /** Whether the time limit, rather than the caller, ended the request. */
  timedOut(): boolean;
  /** Call when the request ends: clears the timer and the listener on the caller's signal. */
  dispose(): void;
}

/**
 * The caller's own signal when `abort` lets us end it (no extra controller or listener per call),
 * else a controller of our own that follows the caller's. A plain timer, cleared on dispose:
 * AbortSignal.timeout would keep every call's signal (and what it references) alive for the whole
 * timeout, 60 s by default.
 */
export function deadline(timeoutMs: number, caller?: AbortSignal, abort?: () => void): Deadline {
  let expired = false;
  let signal: AbortSignal;
  let end: () => void;
  let onAbort: (() => void) | undefined;
  if (caller && abort) {
    signal = caller;
    end = abort;
  } else {
    const controller = new AbortController();
    signal = controller.signal;
    end = () => controller.abort();
    if (caller) {
      onAbort = end;
      if (caller.aborted) end();
      else caller.addEventListener('abort', onAbort, { once: true });
    }
  }
  const timer = setTimeout(() => {
    expired = true;
    end();
  }, timeoutMs);
  return {
    signal,
    timedOut: () => expired,
    dispose() {
      clearTimeout(timer);
      if (caller && onAbort) caller.removeEventListener('abort', onAbort);
    },
  };
}

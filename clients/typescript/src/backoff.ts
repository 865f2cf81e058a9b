// How long the client waits before each reconnect attempt: exponential backoff (the delay
// doubles with each failed attempt, up to a cap) with jitter, so that many clients dropped by one
// server restart do not all come back at the same instant.

/** How the client reconnects; every field is optional and has the default shown. */
export interface ReconnectOptions {
  /** The delay before the first attempt after a drop, in milliseconds. Default 250. */
  initialDelayMs?: number;
  /** The longest delay, in milliseconds: doubling stops here. Default 5000. */
  maxDelayMs?: number;
  /**
   * How much of each delay is random, from 0 (none: exactly the doubled delay) to 1: each delay is
   * drawn uniformly from `[delay × (1 − jitter), delay]`. Default 0.5.
   */
  jitter?: number;
}

/** {@link ReconnectOptions} with every field filled in and checked. */
export interface Backoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
}

/** The defaults of {@link ReconnectOptions}. */
export const defaultBackoff: Backoff = { initialDelayMs: 250, maxDelayMs: 5000, jitter: 0.5 };

/** Fills in the defaults; throws a RangeError for a negative or non-finite delay or a jitter outside [0, 1]. */
export function resolveBackoff(options: ReconnectOptions): Backoff {
  const backoff: Backoff = {
    initialDelayMs: options.initialDelayMs ?? defaultBackoff.initialDelayMs,
    maxDelayMs: options.maxDelayMs ?? defaultBackoff.maxDelayMs,
    jitter: options.jitter ?? defaultBackoff.jitter,
  };
  for (const [name, value] of [
    ["initialDelayMs", backoff.initialDelayMs],
    ["maxDelayMs", backoff.maxDelayMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`reconnect.${name} must be a finite number ≥ 0, got ${value}`);
    }
  }
  if (!(backoff.jitter >= 0 && backoff.jitter <= 1)) {
    throw new RangeError(`reconnect.jitter must be between 0 and 1, got ${backoff.jitter}`);
  }
  return backoff;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first after a drop):
 * `min(maxDelayMs, initialDelayMs × 2^attempt)`, less up to `jitter` of it at random.
 * `random` returns a number in [0, 1), like Math.random.
 */
export function reconnectDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const delay = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** attempt);
  return delay * (1 - backoff.jitter * random());
}

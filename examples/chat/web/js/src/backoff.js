// How long the client waits before each reconnect attempt: exponential backoff (the delay
// doubles with each failed attempt, up to a cap) with jitter, so that many clients dropped by one
// server restart do not all come back at the same instant.
/** The defaults of {@link ReconnectOptions}. */
export const defaultBackoff = { initialDelayMs: 250, maxDelayMs: 5000, jitter: 0.5 };
/** Fills in the defaults; throws a RangeError for a negative or non-finite delay or a jitter outside [0, 1]. */
export function resolveBackoff(options) {
    const backoff = {
        initialDelayMs: options.initialDelayMs ?? defaultBackoff.initialDelayMs,
        maxDelayMs: options.maxDelayMs ?? defaultBackoff.maxDelayMs,
        jitter: options.jitter ?? defaultBackoff.jitter,
    };
    for (const [name, value] of [
        ["initialDelayMs", backoff.initialDelayMs],
        ["maxDelayMs", backoff.maxDelayMs],
    ]) {
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
export function reconnectDelay(attempt, backoff, random = Math.random) {
    const delay = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** attempt);
    return delay * (1 - backoff.jitter * random());
}

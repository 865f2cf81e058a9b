// Bounded waits for the tests: each one fails with a message naming what it waited for, instead
// of hanging the run. The bounds are generous; no test asserts how long anything took.
import type { ConnectionState, YoctopusClient } from "../../src/index.js";

/** The bound on every wait unless a test says otherwise. */
export const waitMs = 5_000;

/** Resolves or rejects as `promise` does, or rejects once `ms` pass, saying it waited for `what`. */
export function within<T>(promise: Promise<T>, what: string, ms = waitMs): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The error `promise` rejects with; fails if it resolves instead, or settles not within the bound. */
export async function rejectionOf(promise: Promise<unknown>, what: string, ms = waitMs): Promise<unknown> {
  const outcome = await within(
    promise.then(
      (value) => ({ resolved: true as const, value }),
      (error: unknown) => ({ resolved: false as const, error }),
    ),
    what,
    ms,
  );
  if (outcome.resolved) throw new Error(`${what} resolved with ${JSON.stringify(outcome.value)} instead of rejecting`);
  return outcome.error;
}

/** The data of the next push of type `type` that `client` receives. */
export function nextPush(client: YoctopusClient, type: string, ms = waitMs): Promise<unknown> {
  let unsubscribe = (): void => {};
  const push = new Promise<unknown>((resolve) => {
    unsubscribe = client.on(type, (data) => resolve(data));
  });
  return within(push, `a "${type}" push`, ms).finally(() => unsubscribe());
}

/** Resolves once `client` is in `state` (at once if it is). */
export function stateReached(client: YoctopusClient, state: ConnectionState, ms = waitMs): Promise<void> {
  if (client.state === state) return Promise.resolve();
  let unsubscribe = (): void => {};
  const reached = new Promise<void>((resolve) => {
    unsubscribe = client.onStateChange((now) => {
      if (now === state) resolve();
    });
  });
  return within(reached, `state "${state}" (now "${client.state}")`, ms).finally(() => unsubscribe());
}

/** Waits `ms`: only for checking that something does NOT happen within a while. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The error `promise` rejects with, which must be an instance of `kind`; fails the test on any
 * other outcome.
 */
export async function rejectionOfKind<E extends Error>(
  promise: Promise<unknown>,
  kind: abstract new (...args: never[]) => E,
  what: string,
): Promise<E> {
  const error = await rejectionOf(promise, what);
  if (!(error instanceof kind)) throw new Error(`${what}: expected a ${kind.name}, got ${String(error)}`);
  return error;
}

// The errors a request can fail with. Every one is a YoctopusError, so a caller can tell the
// client's failures from its own with one `instanceof`, and then which failure with another.

/** The base of every error the client raises. */
export class YoctopusError extends Error {
  override name = "YoctopusError";
}

/**
 * The server answered the request with an error reply (`"status": "error"`).
 *
 * `messages` is the reply's `error` as an array: a string becomes a one-element array, an array
 * is kept as it is (request-format validation lists every failing field, each with its path).
 */
export class RequestError extends YoctopusError {
  override name = "RequestError";
  /** The endpoint the request was sent to, as the caller named it. */
  readonly endpoint: string;
  /** The request's method. */
  readonly method: string;
  /** What the server said was wrong, one entry per problem. */
  readonly messages: string[];

  /** An error reply to `endpoint` `method` that said `messages`. */
  constructor(endpoint: string, method: string, messages: string[]) {
    super(`${endpoint} ${method} failed: ${messages.join("; ")}`);
    this.endpoint = endpoint;
    this.method = method;
    this.messages = messages;
  }
}

/**
 * No answer came within the request's timeout. The time counts from the `request()` call, so it
 * covers any time spent queued while disconnected. The request may still run on the server; its
 * answer, if it comes later, is ignored.
 */
export class TimeoutError extends YoctopusError {
  override name = "TimeoutError";
  /** The endpoint the request was sent to. */
  readonly endpoint: string;
  /** The request's method. */
  readonly method: string;
  /** The timeout that ran out, in milliseconds. */
  readonly timeoutMs: number;

  /** `endpoint` `method` got no answer within `timeoutMs`. */
  constructor(endpoint: string, method: string, timeoutMs: number) {
    super(`${endpoint} ${method}: no answer within ${timeoutMs} ms`);
    this.endpoint = endpoint;
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Why a request failed for want of a connection:
 * - `"lost"`: the connection dropped while the request was in flight (it may or may not have run
 *   on the server);
 * - `"queue-full"`: made while disconnected with `maxQueued` requests already waiting;
 * - `"rejected"`: made while disconnected with `whileDisconnected: "reject"`;
 * - `"closed"`: the client is closed (by `close()`, or by a drop with reconnect off).
 */
export type DisconnectedReason = "lost" | "queue-full" | "rejected" | "closed";

/** The request could not be answered because there was no connection; `reason` says which case. */
export class DisconnectedError extends YoctopusError {
  override name = "DisconnectedError";
  /** Which of the cases in {@link DisconnectedReason} this is. */
  readonly reason: DisconnectedReason;

  /** A request failed for `reason`, explained by `message`. */
  constructor(reason: DisconnectedReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

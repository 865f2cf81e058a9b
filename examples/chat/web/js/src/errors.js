// The errors a request can fail with. Every one is a YoctopusError, so a caller can tell the
// client's failures from its own with one `instanceof`, and then which failure with another.
/** The base of every error the client raises. */
export class YoctopusError extends Error {
    name = "YoctopusError";
}
/**
 * The server answered the request with an error reply (`"status": "error"`).
 *
 * `messages` is the reply's `error` as an array: a string becomes a one-element array, an array
 * is kept as it is (request-format validation lists every failing field, each with its path).
 */
export class RequestError extends YoctopusError {
    name = "RequestError";
    /** The endpoint the request was sent to, as the caller named it. */
    endpoint;
    /** The request's method. */
    method;
    /** What the server said was wrong, one entry per problem. */
    messages;
    /** An error reply to `endpoint` `method` that said `messages`. */
    constructor(endpoint, method, messages) {
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
    name = "TimeoutError";
    /** The endpoint the request was sent to. */
    endpoint;
    /** The request's method. */
    method;
    /** The timeout that ran out, in milliseconds. */
    timeoutMs;
    /** `endpoint` `method` got no answer within `timeoutMs`. */
    constructor(endpoint, method, timeoutMs) {
        super(`${endpoint} ${method}: no answer within ${timeoutMs} ms`);
        this.endpoint = endpoint;
        this.method = method;
        this.timeoutMs = timeoutMs;
    }
}
/** The request could not be answered because there was no connection; `reason` says which case. */
export class DisconnectedError extends YoctopusError {
    name = "DisconnectedError";
    /** Which of the cases in {@link DisconnectedReason} this is. */
    reason;
    /** A request failed for `reason`, explained by `message`. */
    constructor(reason, message) {
        super(message);
        this.reason = reason;
    }
}

// The wire format (PROTOCOL.md at the repository's root): how a request is written and how a
// received frame is told apart as a reply, a push, or neither.
/** The text frame of a request. `data` undefined leaves the field out (the server reads `null`). */
export function encodeRequest(id, endpoint, method, data) {
    return JSON.stringify({ meta: { id, endpoint, method }, data });
}
/** Classifies a received text frame. */
export function parseFrame(text) {
    let frame;
    try {
        frame = JSON.parse(text);
    }
    catch {
        return { kind: "unmatched" };
    }
    if (!isObject(frame) || !isObject(frame.meta))
        return { kind: "unmatched" };
    const meta = frame.meta;
    if (meta.id !== undefined && meta.id !== null) {
        if (meta.status === "ok")
            return { kind: "answer", id: meta.id, data: frame.data };
        if (meta.status === "error")
            return { kind: "error", id: meta.id, messages: errorMessages(frame.error) };
        return { kind: "unmatched" };
    }
    if (typeof meta.type === "string") {
        const method = typeof meta.method === "string" ? meta.method : "";
        return { kind: "push", push: { type: meta.type, method, data: frame.data } };
    }
    return { kind: "unmatched" };
}
/** An error reply's `error` as an array of strings: a string becomes `[string]`. */
export function errorMessages(error) {
    if (typeof error === "string")
        return [error];
    if (Array.isArray(error))
        return error.map((entry) => (typeof entry === "string" ? entry : JSON.stringify(entry)));
    return [error === undefined ? "error reply without an error" : JSON.stringify(error)];
}
function isObject(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

// The package's entry point: everything a user of the client needs, and nothing internal.

export { YoctopusClient } from "./client.js";
export type { ClientOptions, ConnectionState, RequestOptions } from "./client.js";
export type { ReconnectOptions } from "./backoff.js";
export { DisconnectedError, RequestError, TimeoutError, YoctopusError } from "./errors.js";
export type { DisconnectedReason } from "./errors.js";
export type { Push } from "./protocol.js";
export type { MessageEventLike, WebSocketConstructor, WebSocketLike } from "./websocket.js";

// The little of the WebSocket API the client uses, written down so that both the platform's
// WebSocket (browsers, Deno, Bun, Node with --experimental-websocket or from Node 22) and the `ws`
// package's class fit without an adapter.

/** A `message` event: a text frame's `data` is a string. */
export interface MessageEventLike {
  readonly data: unknown;
}

/** A WebSocket as the client uses it. */
export interface WebSocketLike {
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake (or abandons a connection still being made). */
  close(): void;
  /** Registers for the open event. */
  addEventListener(type: "open", listener: () => void): void;
  /** Registers for each received frame. */
  addEventListener(type: "message", listener: (event: MessageEventLike) => void): void;
  /** Registers for the end of the connection, however it ended (also after a failed connect). */
  addEventListener(type: "close", listener: () => void): void;
  /** Registers for errors. The client takes one as the end of the connection, whether a close event follows or not. */
  addEventListener(type: "error", listener: () => void): void;
}

/** A WebSocket class: `globalThis.WebSocket`, or `ws`'s default export. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

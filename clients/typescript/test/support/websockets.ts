// The two WebSocket classes the client must work with: the platform's global one (Node 20 has it
// with --experimental-websocket, as `npm test` runs) and the `ws` package's. Tests that run
// against both take the client options from here. Also two WebSocket classes over `ws` for what
// the real servers do not do by themselves: one keeps its instances, for sending a frame the
// client never would; one reorders the answers.
import WebSocket from "ws";
import type { ClientOptions, MessageEventLike, WebSocketLike } from "../../src/index.js";

/** A WebSocket implementation, by the client options that select it. */
export interface Implementation {
  readonly name: string;
  readonly options: ClientOptions;
}

export const implementations: readonly Implementation[] = [
  // No option: the client takes globalThis.WebSocket, as in a browser.
  { name: "the global WebSocket", options: {} },
  { name: "ws", options: { WebSocket } },
];

/** `ws`'s WebSocket, remembering every instance the client creates and every frame it sends. */
export class RecordedWebSocket extends WebSocket {
  static readonly instances: RecordedWebSocket[] = [];
  /** The frames sent on this socket, in order. */
  readonly sent: string[] = [];

  constructor(address: string) {
    super(address);
    RecordedWebSocket.instances.push(this);
  }

  override send(data: string): void {
    this.sent.push(data);
    super.send(data);
  }

  /** Every frame sent on any instance. */
  static allSent(): string[] {
    return RecordedWebSocket.instances.flatMap((socket) => socket.sent);
  }

  /** The instance created last. */
  static latest(): RecordedWebSocket {
    const socket = RecordedWebSocket.instances.at(-1);
    if (!socket) throw new Error("no RecordedWebSocket was created");
    return socket;
  }
}

/**
 * A WebSocket (over `ws`) that hands the client the server's frames in batches of
 * {@link ReversingWebSocket.batch}, each batch in reverse order: the servers answer a
 * connection's requests in the order sent in practice, and this makes answers arrive out of order
 * for certain. Frames of an unfinished batch are held back, so send whole batches.
 */
export class ReversingWebSocket implements WebSocketLike {
  static readonly batch = 10;
  readonly #socket: WebSocket;

  constructor(address: string) {
    this.#socket = new WebSocket(address);
  }

  send(data: string): void {
    this.#socket.send(data);
  }

  close(): void {
    this.#socket.close();
  }

  addEventListener(type: "open" | "close" | "error", listener: () => void): void;
  addEventListener(type: "message", listener: (event: MessageEventLike) => void): void;
  addEventListener(type: "open" | "close" | "error" | "message", listener: (event: MessageEventLike) => void): void {
    const passOn = (): void => listener({ data: undefined });
    switch (type) {
      case "open":
        this.#socket.addEventListener("open", passOn);
        return;
      case "close":
        this.#socket.addEventListener("close", passOn);
        return;
      case "error":
        this.#socket.addEventListener("error", passOn);
        return;
    }
    const held: MessageEventLike[] = [];
    this.#socket.addEventListener("message", (event) => {
      held.push({ data: event.data });
      if (held.length < ReversingWebSocket.batch) return;
      for (const frame of held.reverse()) listener(frame);
      held.length = 0;
    });
  }
}

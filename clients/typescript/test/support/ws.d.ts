// Types for the part of the `ws` package the tests use: its WebSocket class, with the signatures
// of ws 8 (the package ships no types and @types/ws is not installed). Written out so that the
// compiler checks the class against the client's WebSocketConstructor, as a user's code would be.
declare module "ws" {
  export default class WebSocket {
    constructor(address: string | URL, protocols?: string | string[]);
    readonly readyState: 0 | 1 | 2 | 3;
    send(data: string): void;
    close(code?: number, reason?: string): void;
    /** Destroys the socket without a closing handshake. */
    terminate(): void;
    addEventListener(type: "open", listener: (event: { type: string }) => void): void;
    addEventListener(type: "message", listener: (event: { data: string | Buffer | ArrayBuffer | Buffer[] }) => void): void;
    addEventListener(type: "close", listener: (event: { code: number; reason: string; wasClean: boolean }) => void): void;
    addEventListener(type: "error", listener: (event: { error: unknown; message: string }) => void): void;
  }
}

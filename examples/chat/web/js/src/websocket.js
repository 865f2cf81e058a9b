// The little of the WebSocket API the client uses, written down so that both the platform's
// WebSocket (browsers, Deno, Bun, Node with --experimental-websocket or from Node 22) and the `ws`
// package's class fit without an adapter.
export {};

// The reconnect delays, computed without a server or a clock: doubling from the initial delay,
// the cap, the jitter's range; and the options the client refuses at construction.
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultBackoff, reconnectDelay, resolveBackoff } from "../src/backoff.js";
import { YoctopusClient } from "../src/index.js";

const noJitter = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });

test("the delay doubles with each failed attempt, up to the cap", () => {
  const delays = [0, 1, 2, 3, 4, 5, 60].map((attempt) => reconnectDelay(attempt, noJitter));
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
});

test("jitter takes up to its share off each delay, never adding to it", () => {
  const backoff = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 });
  assert.equal(reconnectDelay(3, backoff, () => 0), 800);
  assert.equal(reconnectDelay(3, backoff, () => 0.5), 600);
  assert.ok(reconnectDelay(3, backoff, () => 0.999_999) > 400);
  assert.equal(reconnectDelay(9, backoff, () => 0), 1000);
});

test("the defaults are those of the contract", () => {
  assert.deepEqual(resolveBackoff({}), { initialDelayMs: 250, maxDelayMs: 5000, jitter: 0.5 });
  assert.deepEqual(defaultBackoff, resolveBackoff({}));
  assert.deepEqual(resolveBackoff({ maxDelayMs: 60_000 }), { initialDelayMs: 250, maxDelayMs: 60_000, jitter: 0.5 });
});

test("invalid reconnect options are refused when the client is made", () => {
  for (const reconnect of [{ jitter: 1.5 }, { jitter: -0.1 }, { initialDelayMs: -1 }, { maxDelayMs: Number.NaN }]) {
    assert.throws(() => new YoctopusClient("ws://127.0.0.1:9", { reconnect }), RangeError, JSON.stringify(reconnect));
  }
});

test("without a WebSocket class the client says how to get one", (t) => {
  const platformWebSocket = globalThis.WebSocket;
  t.after(() => {
    globalThis.WebSocket = platformWebSocket;
  });
  // @ts-expect-error: removing the global, as on Node 20 without --experimental-websocket
  delete globalThis.WebSocket;
  assert.throws(() => new YoctopusClient("ws://127.0.0.1:9"), { name: "TypeError", message: /--experimental-websocket/ });
});

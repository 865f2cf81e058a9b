// Request timeouts against a real server that stops answering: the Quick Start server frozen with
// SIGSTOP (its connections stay up, its replies wait until SIGCONT). The tests check the
// TimeoutError's fields and that a late answer is ignored, never how long anything took.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { TimeoutError, YoctopusClient, YoctopusError } from "../src/index.js";
import { ExampleServer, stopAllServers } from "./support/servers.js";
import { rejectionOfKind, stateReached, within } from "./support/waits.js";
import { RecordedWebSocket } from "./support/websockets.js";

let greeter: ExampleServer;

before(async () => {
  greeter = await ExampleServer.start("quickstart");
});
afterEach(() => greeter.resume());
after(stopAllServers);

async function timeoutError(promise: Promise<unknown>, what: string): Promise<TimeoutError> {
  const error = await rejectionOfKind(promise, TimeoutError, what);
  assert.ok(error instanceof YoctopusError);
  return error;
}

test("a request's own timeout runs out; its late answer is ignored and the client goes on", async () => {
  const client = new YoctopusClient(greeter.address);
  try {
    await within(client.opened(), "the connection");
    await greeter.pause();
    const error = await timeoutError(
      client.request("greeter:hello", "read", { name: "Late" }, { timeoutMs: 100 }),
      "a request to a frozen server",
    );
    assert.equal(error.endpoint, "greeter:hello");
    assert.equal(error.method, "read");
    assert.equal(error.timeoutMs, 100);
    // Made while the server is still frozen: once it runs again it answers both, the late one
    // first (a connection's requests are answered in order in practice), and only this one counts.
    const next = client.request("greeter:hello", "read", { name: "Next" });
    greeter.resume();
    assert.deepEqual(await within(next, "the next greeting after the server resumed"), { message: "Hello, Next!" });
    assert.equal(client.state, "open");
  } finally {
    client.close();
  }
});

test("the client's requestTimeoutMs applies when a request sets none", async () => {
  const client = new YoctopusClient(greeter.address, { requestTimeoutMs: 150 });
  try {
    await within(client.opened(), "the connection");
    await greeter.pause();
    const error = await timeoutError(client.request("api:api", "read"), "a request to a frozen server");
    assert.equal(error.endpoint, "api:api");
    assert.equal(error.timeoutMs, 150);
  } finally {
    client.close();
  }
});

test("a request queued while disconnected times out too, and is not sent later", async () => {
  const client = new YoctopusClient(greeter.address, {
    WebSocket: RecordedWebSocket,
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  });
  try {
    await within(client.opened(), "the connection");
    await greeter.stop();
    await stateReached(client, "reconnecting");
    const error = await timeoutError(
      client.request("greeter:hello", "read", { name: "Queued" }, { timeoutMs: 50 }),
      "a request queued while the server is down",
    );
    assert.equal(error.timeoutMs, 50);
    await greeter.startAgain();
    await within(client.opened(), "the reconnection");
    // Had the timed-out request stayed queued, it would have gone out at the reconnection.
    assert.deepEqual(await within(client.request("greeter:hello", "read", { name: "After" }), "a greeting"), {
      message: "Hello, After!",
    });
    const sent = RecordedWebSocket.allSent();
    assert.ok(sent.some((frame) => frame.includes("After")), `the later request was not recorded: ${JSON.stringify(sent)}`);
    assert.ok(!sent.some((frame) => frame.includes("Queued")), `the timed-out request was sent: ${JSON.stringify(sent)}`);
  } finally {
    client.close();
  }
});

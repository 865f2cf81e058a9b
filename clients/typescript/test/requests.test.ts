// Requests and their answers against the real Quick Start and chat servers, with both WebSocket
// classes: ids matched among many concurrent requests, error replies mapped to RequestError, and
// the server's reply to an unparseable frame ignored.
import assert from "node:assert/strict";
import { after, before, describe, mock, test } from "node:test";
import { RequestError, YoctopusClient, YoctopusError } from "../src/index.js";
import { ExampleServer, stopAllServers } from "./support/servers.js";
import { rejectionOfKind, within } from "./support/waits.js";
import { RecordedWebSocket, ReversingWebSocket, implementations } from "./support/websockets.js";

let greeter: ExampleServer;
let chat: ExampleServer;

before(async () => {
  [greeter, chat] = await Promise.all([ExampleServer.start("quickstart"), ExampleServer.start("chat")]);
});
after(stopAllServers);

/** The RequestError a request rejects with; fails the test on any other outcome. */
function requestError(promise: Promise<unknown>, what: string): Promise<RequestError> {
  return rejectionOfKind(promise, RequestError, what);
}

for (const { name, options } of implementations) {
  describe(`requests with ${name}`, () => {
    let client: YoctopusClient;
    before(() => {
      client = new YoctopusClient(greeter.address, options);
    });
    after(() => client.close());

    test("an answer resolves with its data", async () => {
      await within(client.opened(), "the connection");
      assert.equal(client.state, "open");
      const answer = await within(client.request("greeter:hello", "read", { name: "Alice" }), "the greeting");
      assert.deepEqual(answer, { message: "Hello, Alice!" });
    });

    test("each of many concurrent requests gets its own answer", async () => {
      const names = Array.from({ length: 200 }, (_, index) => `caller-${index}`);
      // Interleaved with requests that fail and a larger answer, so that answers of different
      // kinds and sizes are in flight together.
      const greetings = names.map((who) => client.request("greeter:hello", "read", { name: who }));
      const failures = names.map((_, index) => client.request("greeter:hello", "read", { name: index }));
      const apis = names.slice(0, 20).map(() => client.request("api:api", "read"));
      const answers = await within(Promise.all(greetings), "200 greetings");
      assert.deepEqual(
        answers,
        names.map((who) => ({ message: `Hello, ${who}!` })),
      );
      for (const failure of failures) await requestError(failure, "a greeting with a number for a name");
      for (const api of await within(Promise.all(apis), "20 API descriptions")) {
        assert.ok(typeof api === "object" && api !== null && "greeter:hello" in api, `not an API description: ${JSON.stringify(api)}`);
      }
    });

    test("a field of the wrong type rejects with messages naming the field", async () => {
      const error = await requestError(client.request("greeter:hello", "read", { name: 5 }), "a number for a name");
      assert.ok(error instanceof YoctopusError);
      assert.equal(error.endpoint, "greeter:hello");
      assert.equal(error.method, "read");
      assert.ok(Array.isArray(error.messages) && error.messages.length >= 1, `messages: ${JSON.stringify(error.messages)}`);
      assert.ok(
        error.messages.some((message) => message.includes("name")),
        `no message names the field: ${JSON.stringify(error.messages)}`,
      );
    });

    test("an unknown endpoint rejects with a message naming it", async () => {
      const error = await requestError(client.request("nowhere:nothing", "read"), "an unknown endpoint");
      assert.equal(error.endpoint, "nowhere:nothing");
      assert.ok(
        error.messages.some((message) => message.includes("nowhere:nothing")),
        `no message names the endpoint: ${JSON.stringify(error.messages)}`,
      );
    });

    test("an unknown method rejects with a message naming it", async () => {
      const error = await requestError(client.request("greeter:hello", "explode"), "an unknown method");
      assert.equal(error.method, "explode");
      assert.ok(
        error.messages.some((message) => message.includes("explode")),
        `no message names the method: ${JSON.stringify(error.messages)}`,
      );
    });
  });
}

describe("answers out of order", () => {
  test("each reaches its own request", async () => {
    const client = new YoctopusClient(greeter.address, { WebSocket: ReversingWebSocket });
    try {
      const names = Array.from({ length: 5 * ReversingWebSocket.batch }, (_, index) => `reversed-${index}`);
      const answers = await within(
        Promise.all(names.map((who) => client.request("greeter:hello", "read", { name: who }))),
        "greetings answered in reversed batches",
      );
      assert.deepEqual(
        answers,
        names.map((who) => ({ message: `Hello, ${who}!` })),
      );
    } finally {
      client.close();
    }
  });
});

describe("error replies of the chat example", () => {
  let ann: YoctopusClient;
  before(() => {
    ann = new YoctopusClient(chat.chatUrl("ann"));
  });
  after(() => ann.close());

  test("a handler's string error becomes a one-message array", async () => {
    const error = await requestError(
      ann.request("chat:direct", "create", { to: "nobody", text: "hi" }),
      "a direct message to a user who is not connected",
    );
    assert.deepEqual(error.messages, ["user `nobody` is not connected"]);
  });

  test("an unmet requirement rejects with a message naming it", async () => {
    const error = await requestError(ann.request("chat:message", "create", { text: "hello" }), "a message outside any room");
    assert.equal(error.messages.length, 1);
    assert.match(error.messages[0] ?? "", /requirement not met: chat\.room/);
  });
});

describe("the reply to an unparseable frame", () => {
  test("is ignored: nothing reported, requests in flight unaffected", async (t) => {
    const consoleError = t.mock.method(console, "error", () => {});
    const onError = mock.fn();
    const client = new YoctopusClient(greeter.address, { WebSocket: RecordedWebSocket, onError });
    try {
      await within(client.opened(), "the connection");
      const socket = RecordedWebSocket.latest();
      // Listening after the client did, this sees each frame once the client has handled it.
      let idlessReplies = 0;
      const bothIdlessRepliesSeen = new Promise<void>((resolve) => {
        socket.addEventListener("message", (event) => {
          const frame: unknown = JSON.parse(String(event.data));
          const meta = (frame as { meta?: Record<string, unknown> }).meta;
          if (meta && !("id" in meta) && meta.status === "error") idlessReplies += 1;
          if (idlessReplies === 2) resolve();
        });
      });
      const answer = client.request("greeter:hello", "read", { name: "Bea" });
      // The server answers each with an error reply whose meta holds only the status.
      socket.send("this is not JSON");
      socket.send("[1, 2, 3]");
      await within(bothIdlessRepliesSeen, "the server's replies to both unparseable frames");
      assert.deepEqual(await within(answer, "the greeting sent before them"), { message: "Hello, Bea!" });
      assert.deepEqual(await within(client.request("greeter:hello", "read", { name: "Cy" }), "a later greeting"), {
        message: "Hello, Cy!",
      });
      assert.equal(onError.mock.callCount(), 0);
      assert.equal(consoleError.mock.callCount(), 0);
    } finally {
      client.close();
    }
  });
});

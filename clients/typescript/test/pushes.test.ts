// Pushes from the real chat server, with both WebSocket classes: two users in a room, each push
// type at the handlers registered for it with the data the chat contract promises, onAnyPush
// seeing them all, unsubscribing, and a throwing handler that breaks nothing.
import assert from "node:assert/strict";
import { after, before, describe, mock, test } from "node:test";
import { type Push, YoctopusClient } from "../src/index.js";
import { ExampleServer, stopAllServers } from "./support/servers.js";
import { nextPush, within } from "./support/waits.js";
import { implementations } from "./support/websockets.js";

let chat: ExampleServer;

before(async () => {
  chat = await ExampleServer.start("chat");
});
after(stopAllServers);

for (const { name, options } of implementations) {
  describe(`pushes with ${name}`, () => {
    const room = `room-${name.replace(/\W/g, "-")}`;
    let ann: YoctopusClient;
    let bob: YoctopusClient;
    const bobsPushes: Push[] = [];

    before(async () => {
      ann = new YoctopusClient(chat.chatUrl("ann"), options);
      bob = new YoctopusClient(chat.chatUrl("bob"), options);
      bob.onAnyPush((push) => bobsPushes.push(push));
      await within(bob.request("chat:room", "join", { room }), "bob's join");
    });
    after(() => {
      ann.close();
      bob.close();
    });

    test("joined: the others in the room hear of a join", async () => {
      const joined = nextPush(bob, "joined");
      const members = await within(ann.request("chat:room", "join", { room }), "ann's join");
      assert.deepEqual(members, { room, users: ["ann", "bob"] });
      assert.deepEqual(await joined, { user: "ann", room });
    });

    test("message: reaches the others in the room, with the push as the second argument", async () => {
      const message = new Promise<{ data: unknown; push: Push }>((resolve) => {
        const unsubscribe = bob.on("message", (data, push) => {
          unsubscribe();
          resolve({ data, push });
        });
      });
      const answer = await within(ann.request("chat:message", "create", { text: "hello room" }), "ann's message");
      assert.deepEqual(answer, { delivered: 1 });
      const { data, push } = await within(message, "bob's message push");
      assert.deepEqual(data, { user: "ann", room, text: "hello room" });
      assert.deepEqual(push, { type: "message", method: "notify", data });
    });

    test("direct: reaches the addressee only", async () => {
      const annsDirects = mock.fn();
      const unsubscribe = ann.on("direct", annsDirects);
      try {
        const direct = nextPush(bob, "direct");
        const answer = await within(ann.request("chat:direct", "create", { to: "bob", text: "psst" }), "ann's direct message");
        assert.deepEqual(answer, { delivered: 1 });
        assert.deepEqual(await direct, { from: "ann", text: "psst" });
        assert.equal(annsDirects.mock.callCount(), 0);
      } finally {
        unsubscribe();
      }
    });

    test("a handler that throws is reported, and the other handlers and the client go on", async () => {
      const onError = mock.fn();
      const carol = new YoctopusClient(chat.chatUrl("carol"), { ...options, onError });
      try {
        const failure = new Error("a handler's bug");
        carol.on("direct", () => {
          throw failure;
        });
        carol.onAnyPush(() => {
          throw failure;
        });
        const afterTheThrow = nextPush(carol, "direct");
        await within(carol.opened(), "carol's connection");
        await within(ann.request("chat:direct", "create", { to: "carol", text: "one" }), "a direct message to carol");
        assert.deepEqual(await afterTheThrow, { from: "ann", text: "one" });
        assert.equal(onError.mock.callCount(), 2);
        assert.deepEqual(
          onError.mock.calls.map((call) => call.arguments[0]),
          [failure, failure],
        );
        // Still dispatching, still answering.
        const second = nextPush(carol, "direct");
        await within(ann.request("chat:direct", "create", { to: "carol", text: "two" }), "a second direct message");
        assert.deepEqual(await second, { from: "ann", text: "two" });
        assert.deepEqual(await within(carol.request("chat:users", "read"), "carol's users"), { users: ["ann", "bob", "carol"] });
      } finally {
        carol.close();
      }
    });

    test("an unsubscribed handler hears nothing more", async () => {
      const unsubscribed = mock.fn();
      bob.on("message", unsubscribed)();
      const stillSubscribed = nextPush(bob, "message");
      await within(ann.request("chat:message", "create", { text: "anyone?" }), "ann's message");
      assert.deepEqual(await stillSubscribed, { user: "ann", room, text: "anyone?" });
      assert.equal(unsubscribed.mock.callCount(), 0);
    });

    test("left: the others hear when a connection closes; onAnyPush saw every push", async () => {
      const left = nextPush(bob, "left");
      ann.close();
      assert.deepEqual(await left, { user: "ann", room });
      assert.deepEqual(
        bobsPushes.map((push) => push.type),
        ["joined", "message", "direct", "message", "left"],
      );
      assert.ok(bobsPushes.every((push) => push.method === "notify"));
    });
  });
}

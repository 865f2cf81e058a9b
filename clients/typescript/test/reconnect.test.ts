// Reconnection against the real chat server, killed (SIGKILL) and started again on the same port:
// the states a client goes through, the reconnect hooks running before the queued requests go
// out, what happens to a request in flight at the drop, the "reject" mode, the queue's bound, a
// first connection that has to be retried, reconnect off, and close() ending it all.
import assert from "node:assert/strict";
import { after, describe, mock, test } from "node:test";
import { type ConnectionState, DisconnectedError, YoctopusClient } from "../src/index.js";
import { ExampleServer, stopAllServers } from "./support/servers.js";
import { nextPush, pause, rejectionOfKind, stateReached, within } from "./support/waits.js";
import { implementations } from "./support/websockets.js";

after(stopAllServers);

/** Quick retries, so that the tests do not wait on the default backoff. */
const quickReconnect = { initialDelayMs: 10, maxDelayMs: 100 };

function disconnectedError(promise: Promise<unknown>, what: string): Promise<DisconnectedError> {
  return rejectionOfKind(promise, DisconnectedError, what);
}

for (const { name, options } of implementations) {
  describe(`reconnecting with ${name}`, () => {
    test("rejoins through the hook, then sends what was queued; a request in flight is lost", async () => {
      const chat = await ExampleServer.start("chat");
      const room = "lobby";
      const ann = new YoctopusClient(chat.chatUrl("ann"), { ...options, reconnect: quickReconnect });
      const bob = new YoctopusClient(chat.chatUrl("bob"), { ...options, reconnect: quickReconnect });
      try {
        const annsStates: ConnectionState[] = [];
        ann.onStateChange((state) => annsStates.push(state));
        const events: string[] = [];

        bob.onReconnect(async () => {
          await bob.request("chat:room", "join", { room });
        });
        // Ann's hook waits for bob to be back in the room, so that bob sees her rejoin.
        let bobIsBack = (): void => {};
        const bobBack = new Promise<void>((resolve) => {
          bobIsBack = resolve;
        });
        ann.onReconnect(async () => {
          events.push(`hook starts, ann is ${ann.state}`);
          await bobBack;
          const members = await ann.request("chat:room", "join", { room });
          events.push(`hook rejoined: ${JSON.stringify(members)}`);
        });

        await within(bob.request("chat:room", "join", { room }), "bob's join");
        await within(ann.request("chat:room", "join", { room }), "ann's join");

        // In flight at the drop: sent to the frozen server, which is then killed.
        await chat.pause();
        const inFlight = disconnectedError(ann.request("chat:users", "read"), "the request in flight at the drop");
        await chat.stop();
        const lost = await inFlight;
        assert.equal(lost.reason, "lost");
        await stateReached(ann, "reconnecting");
        await stateReached(bob, "reconnecting");

        // Made while down: queued. It needs ann in a room, so it can only succeed after the hook.
        const queued = ann.request("chat:message", "create", { text: "back again" }).then((answer) => {
          events.push(`queued message answered: ${JSON.stringify(answer)}`);
          return answer;
        });

        const rejoined = nextPush(bob, "joined");
        const message = nextPush(bob, "message");
        await chat.startAgain();
        await stateReached(bob, "open");
        bobIsBack();

        assert.deepEqual(await rejoined, { user: "ann", room });
        assert.deepEqual(await within(queued, "the queued message"), { delivered: 1 });
        assert.deepEqual(await message, { user: "ann", room, text: "back again" });
        await stateReached(ann, "open");
        assert.deepEqual(events, [
          "hook starts, ann is reconnecting",
          `hook rejoined: ${JSON.stringify({ room, users: ["ann", "bob"] })}`,
          'queued message answered: {"delivered":1}',
        ]);
        assert.deepEqual(annsStates, ["open", "reconnecting", "open"]);
      } finally {
        ann.close();
        bob.close();
        await chat.stop();
      }
    });
  });
}

test('"reject" mode rejects a request at once while disconnected', async () => {
  const chat = await ExampleServer.start("chat");
  const client = new YoctopusClient(chat.chatUrl("dee"), { reconnect: quickReconnect, whileDisconnected: "reject" });
  try {
    await within(client.opened(), "the connection");
    await chat.stop();
    await stateReached(client, "reconnecting");
    const error = await disconnectedError(client.request("chat:users", "read"), "a request while disconnected");
    assert.equal(error.reason, "rejected");
    await chat.startAgain();
    await stateReached(client, "open");
    assert.deepEqual(await within(client.request("chat:users", "read"), "a request after the reconnect"), { users: ["dee"] });
  } finally {
    client.close();
    await chat.stop();
  }
});

test("beyond maxQueued a request rejects at once; the queued ones are answered after a throwing hook", async () => {
  const chat = await ExampleServer.start("chat");
  const onError = mock.fn();
  const client = new YoctopusClient(chat.chatUrl("eve"), { reconnect: quickReconnect, maxQueued: 2, onError });
  try {
    // A hook that throws is reported, and the queue is sent all the same.
    const hookFailure = new Error("a hook's bug");
    client.onReconnect(() => {
      throw hookFailure;
    });
    await within(client.opened(), "the connection");
    await chat.stop();
    await stateReached(client, "reconnecting");
    const first = client.request("chat:users", "read");
    const second = client.request("chat:room", "join", { room: "queued" });
    const error = await disconnectedError(client.request("chat:users", "read"), "a third request with maxQueued 2");
    assert.equal(error.reason, "queue-full");
    await chat.startAgain();
    assert.deepEqual(await within(first, "the first queued request"), { users: ["eve"] });
    assert.deepEqual(await within(second, "the second queued request"), { room: "queued", users: ["eve"] });
    assert.deepEqual(
      onError.mock.calls.map((call) => call.arguments),
      [[hookFailure, "a reconnect hook"]],
    );
  } finally {
    client.close();
    await chat.stop();
  }
});

test("a first connection that fails is retried; the hooks run only after a re-open", async () => {
  const chat = await ExampleServer.start("chat");
  await chat.stop();
  const hook = mock.fn();
  const client = new YoctopusClient(chat.chatUrl("fay"), { reconnect: quickReconnect });
  try {
    client.onReconnect(hook);
    const queued = client.request("chat:users", "read");
    assert.equal(client.state, "connecting");
    await chat.startAgain();
    assert.deepEqual(await within(queued, "the request queued before the first connection"), { users: ["fay"] });
    assert.equal(client.state, "open");
    assert.equal(hook.mock.callCount(), 0);
  } finally {
    client.close();
    await chat.stop();
  }
});

test("with reconnect off, a drop closes the client", async () => {
  const chat = await ExampleServer.start("chat");
  const client = new YoctopusClient(chat.chatUrl("gus"), { reconnect: false });
  try {
    await within(client.opened(), "the connection");
    await chat.stop();
    await stateReached(client, "closed");
    const error = await disconnectedError(client.request("chat:users", "read"), "a request after the drop");
    assert.equal(error.reason, "closed");
    assert.equal((await disconnectedError(client.opened(), "opened() after the drop")).reason, "closed");
  } finally {
    client.close();
    await chat.stop();
  }
});

test("close() is final: it stops reconnecting and rejects what waits", async () => {
  const chat = await ExampleServer.start("chat");
  let attempts = 0;
  let retrying = (): void => {};
  const retriedTwice = new Promise<void>((resolve) => {
    retrying = resolve;
  });
  const url = (): string => {
    attempts += 1;
    if (attempts === 3) retrying();
    return chat.chatUrl("hal");
  };
  const client = new YoctopusClient(url, { reconnect: quickReconnect });
  try {
    await within(client.opened(), "the connection");
    await chat.stop();
    await within(retriedTwice, "two reconnect attempts");
    const queued = disconnectedError(client.request("chat:users", "read"), "the request queued at close()");
    const opened = disconnectedError(client.opened(), "opened() waiting at close()");
    client.close();
    assert.equal(client.state, "closed");
    assert.equal((await queued).reason, "closed");
    assert.equal((await opened).reason, "closed");
    const attemptsAtClose = attempts;
    await chat.startAgain();
    // Checking that nothing happens: several times the longest backoff delay.
    await pause(5 * quickReconnect.maxDelayMs);
    assert.equal(attempts, attemptsAtClose, "the client tried to connect after close()");
    assert.equal(client.state, "closed");
    assert.equal((await disconnectedError(client.request("chat:users", "read"), "a request after close()")).reason, "closed");
  } finally {
    client.close();
    await chat.stop();
  }
});

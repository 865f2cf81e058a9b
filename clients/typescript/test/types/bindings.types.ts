// Type tests of the generated bindings: `npm run typecheck` (tsc --noEmit) compiles this file and
// never runs it. Each `@ts-expect-error` line must be an error, or tsc fails with "unused
// '@ts-expect-error' directive"; each `expectType` must name the exact type. So a generator that
// loosened a type (to `any`, an index signature, an optional field) fails CI.

import { bind as bindChat } from "../../generated/chat.js";
import type { Push as ChatPush, Pushes as ChatPushes, RoomMembers } from "../../generated/chat.js";
import { bind as bindUsers } from "../../generated/user_auth.js";
import type { Created, User } from "../../generated/user_auth.js";
import { YoctopusClient } from "../../src/index.js";

/** Exactly equal types, `any` told apart from the rest. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** `expectType(value).is<U>()` compiles only when `value` is exactly of type `U`. */
function expectType<T>(_value: T): { is<U>(..._exact: Equal<T, U> extends true ? [] : ["types differ"]): void } {
  return { is: () => undefined };
}

export async function chatBindings(): Promise<void> {
  const chat = bindChat(new YoctopusClient("ws://127.0.0.1:3000/?user=ann"));

  const joined = await chat.chat.room.join({ room: "general" });
  expectType(joined).is<RoomMembers>();
  expectType(joined.users).is<string[]>();
  expectType(await chat.chat.message.create({ text: "hi" })).is<{ delivered: number }>();
  expectType(await chat.chat.users.read()).is<{ users: string[] }>();
  await chat.chat.direct.create({ to: "bob", text: "hi" }, { timeoutMs: 500 });

  // @ts-expect-error a misspelled endpoint
  await chat.chat.rooms.join({ room: "general" });
  // @ts-expect-error a misspelled method
  await chat.chat.room.joni({ room: "general" });
  // @ts-expect-error a wrong field type
  await chat.chat.room.join({ room: 7 });
  // @ts-expect-error a misspelled field
  await chat.chat.room.join({ rooom: "general" });
  // @ts-expect-error a missing field
  await chat.chat.direct.create({ text: "hi" });
  // @ts-expect-error data is required where the schema names a format
  await chat.chat.room.join();
  // @ts-expect-error the answer's fields are typed: `users` is no string
  const room: string = joined.users;
  void room;

  chat.on("direct", (data, push) => {
    expectType(data).is<{ from: string; text: string }>();
    expectType(push.type).is<"direct">();
  });
  // @ts-expect-error a push type the server does not have
  chat.on("directs", () => undefined);
  // @ts-expect-error a push's data is typed
  chat.on("joined", (data) => data.text);

  chat.onAnyPush((push: ChatPush) => {
    if (push.type === "message") expectType(push.data).is<ChatPushes["message"]>();
    // @ts-expect-error the union holds only the schema's types
    if (push.type === "nonsense") return;
  });
}

export async function aliasedBindings(): Promise<void> {
  const users = bindUsers(new YoctopusClient("ws://127.0.0.1:3000/"));
  // An alias is the name clients use: `account` (for `user:user`) sits at the top.
  expectType(await users.account.read({ id: "u1" })).is<User>();
  expectType(await users.account.create({ name: "ann", email: "ann@example.com", age: 30 })).is<Created>();
  // @ts-expect-error the full name is not in the bindings when an alias exists
  await users.user.user.read({ id: "u1" });
  // @ts-expect-error an enum field takes only its values
  await users.account.update({ id: "u1", status: "gone", credit: 1, address: { street: "a", city: "b", zip: "c" } });
}

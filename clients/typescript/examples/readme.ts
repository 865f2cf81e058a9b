// The README's example ("The TypeScript client"): type-checked by `npm run typecheck`, run against
// the real chat server by test/readme.test.ts, which also fails when the README's copy differs
// from this one below the imports (the README imports from the package and the bindings' file).
import { YoctopusClient } from "../src/index.js";
import { bind } from "../generated/chat.js";

export async function chat(server = "127.0.0.1:3000"): Promise<void> {
  const api = bind(new YoctopusClient(`ws://${server}/?user=ann`));
  api.on("message", ({ user, text }) => console.log(`${user}: ${text}`));
  // After a reconnect the server has forgotten the room: join it again.
  api.client.onReconnect(async () => void (await api.chat.room.join({ room: "general" })));

  const { users } = await api.chat.room.join({ room: "general" }); // typed: RoomMembers
  console.log(`in #general: ${users.join(", ")}`);
  const { delivered } = await api.chat.message.create({ text: "hello" }); // typed: Delivered
  console.log(`reached ${delivered} other connections`);
  api.client.close();
}

// The chat example's web page (examples/chat/web/index.html): a person picks a name, joins a room,
// sees who is there, writes to the room or to one user, and watches the connection come back when
// the server restarts. It shows the TypeScript client in a browser through nothing but the
// generated chat bindings and the library. `npm run build:web` compiles it into
// examples/chat/web/js/, which the chat server serves.
//
// The page talks to the chat server it was loaded from (`location.host`). While developing, a page
// served from elsewhere can name the chat server with `?server=HOST:PORT` in the page's URL.
//
// All text from users and the server goes into the page through `textContent`, never as HTML.

import { bind } from "../generated/chat.js";
import type { RoomMembers } from "../generated/chat.js";
import { DisconnectedError, RequestError, TimeoutError, YoctopusClient } from "../src/index.js";
import type { ConnectionState } from "../src/index.js";

type ChatApi = ReturnType<typeof bind>;

const DEFAULT_ROOM = "general";
const NAME_RULE = "names are 1 to 32 characters of A–Z a–z 0–9 _ -";
/** The composer's command for a direct message: `/dm USER TEXT`. */
const DM_COMMAND = /^\/dm\s+(\S+)\s+(\S[\s\S]*)$/;

/** The element with this `data-testid` (index.html has each once). */
function byTestId<T extends HTMLElement = HTMLElement>(testId: string): T {
  const element = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (!element) throw new Error(`index.html has no [data-testid="${testId}"]`);
  return element;
}

const ui = {
  state: byTestId("connection-state"),
  identity: byTestId("identity"),
  signIn: byTestId<HTMLFormElement>("sign-in"),
  nameInput: byTestId<HTMLInputElement>("name-input"),
  nameSubmit: byTestId<HTMLButtonElement>("name-submit"),
  signInError: byTestId("sign-in-error"),
  chat: byTestId("chat"),
  roomForm: byTestId<HTMLFormElement>("room-form"),
  roomInput: byTestId<HTMLInputElement>("room-input"),
  roomJoin: byTestId<HTMLButtonElement>("room-join"),
  currentRoom: byTestId("current-room"),
  userList: byTestId<HTMLUListElement>("user-list"),
  signOut: byTestId<HTMLButtonElement>("sign-out"),
  log: byTestId<HTMLOListElement>("log"),
  composer: byTestId<HTMLFormElement>("composer"),
  target: byTestId<HTMLButtonElement>("target"),
  textInput: byTestId<HTMLInputElement>("text-input"),
};

/** The chat server's `host:port`: the page's own, unless the page's URL says `?server=HOST:PORT`. */
function serverHost(): string {
  return new URLSearchParams(location.search).get("server") ?? location.host;
}

function chatUrl(user: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${serverHost()}/?user=${encodeURIComponent(user)}`;
}

/** What went wrong, in words for the log. */
function describe(error: unknown): string {
  if (error instanceof RequestError) return error.messages.join("; ");
  if (error instanceof TimeoutError) return `no answer within ${error.timeoutMs / 1000} s`;
  if (error instanceof DisconnectedError) return error.message;
  return String(error);
}

const STATE_LABELS: Record<ConnectionState, string> = {
  connecting: "connecting…",
  open: "open",
  reconnecting: "reconnecting…",
  closed: "closed",
};

function showState(state: ConnectionState): void {
  ui.state.dataset["state"] = state;
  ui.state.textContent = STATE_LABELS[state];
  ui.roomJoin.disabled = state !== "open";
}

type LogKind = "message" | "message-own" | "direct-in" | "direct-out" | "joined" | "left" | "info" | "error";

/** Adds a line to the log; `who` (if any) in bold before the text. */
function log(kind: LogKind, text: string, who?: string): void {
  const entry = document.createElement("li");
  entry.dataset["testid"] = "log-entry";
  entry.dataset["kind"] = kind;
  if (who !== undefined) {
    const whoElement = document.createElement("span");
    whoElement.className = "who";
    whoElement.textContent = who;
    entry.append(whoElement);
  }
  const textElement = document.createElement("span");
  textElement.className = "text";
  textElement.textContent = text;
  entry.append(textElement);
  const stickToBottom = ui.log.scrollTop + ui.log.clientHeight >= ui.log.scrollHeight - 4;
  ui.log.append(entry);
  if (stickToBottom) entry.scrollIntoView({ block: "end" });
}

/**
 * Who is in the room, counted per connection: the chat pushes `joined` and `left` for each
 * connection, so a user with two tabs open is still there after closing one. A join answer lists
 * each user once, so each starts at one connection (a user who already had two when this page
 * joined is counted once: a limit of what the answer says).
 */
class Roster {
  readonly #connections = new Map<string, number>();

  reset(users: readonly string[]): void {
    this.#connections.clear();
    for (const user of users) this.#connections.set(user, 1);
  }

  joined(user: string): void {
    this.#connections.set(user, (this.#connections.get(user) ?? 0) + 1);
  }

  /** Counts one connection of `user` gone; returns how many are left. */
  left(user: string): number {
    const remaining = (this.#connections.get(user) ?? 0) - 1;
    if (remaining > 0) this.#connections.set(user, remaining);
    else this.#connections.delete(user);
    return Math.max(remaining, 0);
  }

  /** Each user with their number of connections, sorted by name. */
  entries(): Array<[string, number]> {
    return [...this.#connections].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** One signed-in user: a client, the room it is in, its roster, and where the composer writes to. */
class ChatSession {
  readonly user: string;
  readonly #client: YoctopusClient;
  readonly #api: ChatApi;
  readonly #roster = new Roster();
  /** The room the page shows, from the latest join answer. */
  #room: string | undefined;
  /** The user the composer writes to, or undefined for the room. */
  #directTo: string | undefined;
  /** The room of the join in flight, if any, and whether a joined/left push for it came meanwhile. */
  #joining: string | undefined;
  #rosterDisturbed = false;
  /** The joins the page asked for, one at a time (see #queueJoin). */
  #joins: Promise<void> = Promise.resolve();

  constructor(user: string, url: string) {
    this.user = user;
    this.#client = new YoctopusClient(url);
    this.#api = bind(this.#client);
    this.#client.onStateChange((state) => {
      showState(state);
      if (state === "reconnecting") log("info", "connection lost; reconnecting…");
    });
    showState(this.#client.state);
    this.#api.on("message", ({ user: from, text }) => log("message", text, from));
    this.#api.on("direct", ({ from, text }) => log("direct-in", text, `${from} → you`));
    this.#api.on("joined", ({ user: who, room }) => this.#memberPush("joined", who, room));
    this.#api.on("left", ({ user: who, room }) => this.#memberPush("left", who, room));
    // A new connection is in no room: rejoin the one the page shows and take its users afresh.
    this.#client.onReconnect(async () => {
      const room = this.#room ?? DEFAULT_ROOM;
      try {
        const members = await this.#enter(room);
        log("info", `reconnected: rejoined #${room}, ${members.users.length} here`);
      } catch (error) {
        log("error", `reconnected, but could not rejoin #${room}: ${describe(error)}`);
      }
    });
    this.#renderTarget();
  }

  /** Connects and joins `room`: what signing in does once the server has accepted the name. */
  start(room: string): void {
    void this.#queueJoin(async () => {
      await this.#client.opened();
      log("info", `connected as ${this.user}`);
      await this.#enter(room);
      log("info", `you joined #${room}`);
    }).catch((error: unknown) => log("error", `could not join #${room}: ${describe(error)}`));
  }

  /** Moves to another room (the chat leaves the previous one). */
  switchRoom(room: string): void {
    void this.#queueJoin(async () => {
      if (this.#client.state !== "open") throw new Error("not connected; try again once the connection is open");
      await this.#enter(room);
      log("info", `you joined #${room}`);
    }).catch((error: unknown) => log("error", `could not join #${room}: ${describe(error)}`));
  }

  /** Sends what the composer holds: to the chosen user, `/dm USER TEXT`, or to the room. */
  async send(input: string): Promise<void> {
    const command = DM_COMMAND.exec(input);
    if (input.startsWith("/dm") && !command) {
      log("error", "to write to one user: /dm USER TEXT");
      return;
    }
    const to = command ? command[1]! : this.#directTo;
    const text = command ? command[2]! : input;
    try {
      if (to !== undefined) {
        await this.#api.chat.direct.create({ to, text });
        log("direct-out", text, `you → ${to}`);
      } else {
        await this.#api.chat.message.create({ text });
        log("message-own", text, this.user);
      }
    } catch (error) {
      log("error", `not sent (${text}): ${describe(error)}`);
    }
  }

  /** Makes the composer write to `user` alone, or to the room when undefined. */
  writeTo(user: string | undefined): void {
    this.#directTo = user;
    this.#renderTarget();
    ui.textInput.focus();
  }

  close(): void {
    this.#client.close();
  }

  /**
   * Joins `room` and shows its users. A joined/left push for the room that arrives while the join
   * is in flight may or may not be counted in the answer, so then the page joins again (the room
   * it is already in: the chat answers the same and pushes nothing) and takes that answer.
   */
  async #enter(room: string): Promise<RoomMembers> {
    for (let attempt = 1; ; attempt++) {
      this.#joining = room;
      this.#rosterDisturbed = false;
      let members: RoomMembers;
      try {
        members = await this.#api.chat.room.join({ room });
      } finally {
        this.#joining = undefined;
      }
      if (!this.#rosterDisturbed || attempt === 3) {
        this.#room = members.room;
        this.#roster.reset(members.users);
        this.#renderRoom();
        return members;
      }
    }
  }

  /**
   * Runs the page's joins one after another: the server runs one connection's requests side by
   * side, and the room shown must be the one joined last. The reconnect hook joins directly: it
   * runs before the state is "open", when a queued join would wait for it.
   */
  #queueJoin(join: () => Promise<void>): Promise<void> {
    const run = this.#joins.then(join);
    this.#joins = run.catch(() => undefined);
    return run;
  }

  #memberPush(kind: "joined" | "left", user: string, room: string): void {
    if (room === this.#joining) this.#rosterDisturbed = true;
    if (room !== this.#room) return;
    log(kind, `${user} ${kind} #${room}`);
    if (kind === "joined") {
      this.#roster.joined(user);
    } else if (this.#roster.left(user) > 0) {
      // Still counted: another connection of theirs, or a join counted twice; ask the room.
      void this.#queueJoin(async () => {
        if (this.#client.state === "open" && this.#room === room) await this.#enter(room);
      }).catch((error: unknown) => log("error", `could not refresh #${room}'s users: ${describe(error)}`));
    }
    this.#renderRoom();
  }

  #renderRoom(): void {
    ui.currentRoom.textContent = this.#room === undefined ? "no room" : `#${this.#room}`;
    const items = this.#roster.entries().map(([user, connections]) => {
      const item = document.createElement("li");
      item.dataset["testid"] = "user";
      item.dataset["user"] = user;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = user;
      if (user === this.user) {
        item.className = "me";
        button.title = "you";
      } else {
        button.title = `write to ${user} alone`;
        button.addEventListener("click", () => this.writeTo(user));
      }
      item.append(button);
      if (connections > 1) {
        const count = document.createElement("span");
        count.className = "count";
        count.textContent = `×${connections}`;
        item.append(count);
      }
      return item;
    });
    ui.userList.replaceChildren(...items);
    this.#renderTarget();
  }

  #renderTarget(): void {
    const roomName = this.#room === undefined ? "the room" : `#${this.#room}`;
    if (this.#directTo === undefined) {
      delete ui.target.dataset["direct"];
      ui.target.textContent = `To ${roomName}`;
      ui.target.title = "Click a user in the list to write to them alone";
      ui.textInput.placeholder = `Write to ${roomName}`;
    } else {
      ui.target.dataset["direct"] = "";
      ui.target.textContent = `✉ To ${this.#directTo} ✕`;
      ui.target.title = `Click to write to ${roomName} again`;
      ui.textInput.placeholder = `Write to ${this.#directTo} alone`;
    }
  }
}

/**
 * Whether the chat server takes `url`'s user: it refuses a bad name with 401 before any WebSocket
 * exists, which a browser sees only as a connection that failed. One connection without reconnect
 * tells, and is closed at once.
 */
async function serverAccepts(url: string): Promise<boolean> {
  const probe = new YoctopusClient(url, { reconnect: false });
  try {
    await probe.opened();
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

let session: ChatSession | undefined;

ui.signIn.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.nameInput.value.trim();
  ui.signInError.hidden = true;
  ui.nameSubmit.disabled = true;
  showState("connecting");
  const url = chatUrl(name);
  void serverAccepts(url).then((accepted) => {
    ui.nameSubmit.disabled = false;
    if (!accepted) {
      showState("closed");
      ui.signInError.textContent = `The chat server at ${serverHost()} did not accept “${name}” (${NAME_RULE}), or is not reachable.`;
      ui.signInError.hidden = false;
      return;
    }
    ui.log.replaceChildren();
    session = new ChatSession(name, url);
    ui.identity.textContent = `signed in as ${name}`;
    ui.identity.hidden = false;
    ui.signIn.hidden = true;
    ui.chat.hidden = false;
    session.start(ui.roomInput.value.trim() || DEFAULT_ROOM);
    ui.textInput.focus();
  });
});

ui.roomForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const room = ui.roomInput.value.trim();
  if (room) session?.switchRoom(room);
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.textInput.value.trim();
  if (!text || !session) return;
  ui.textInput.value = "";
  void session.send(text);
});

ui.target.addEventListener("click", () => session?.writeTo(undefined));

ui.signOut.addEventListener("click", () => {
  session?.close();
  session = undefined;
  ui.chat.hidden = true;
  ui.identity.hidden = true;
  ui.userList.replaceChildren();
  ui.signIn.hidden = false;
  ui.nameInput.focus();
});

if (!serverHost()) {
  ui.signInError.textContent = "Open this page from the chat server (http://HOST:PORT/), or add ?server=HOST:PORT to its URL.";
  ui.signInError.hidden = false;
  ui.nameSubmit.disabled = true;
}

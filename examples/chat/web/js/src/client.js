// The client: one WebSocket connection to a Yoctopus server at a time, requests matched to their
// replies by id, pushes dispatched by type, and reconnection with backoff when the connection
// drops. Runs wherever a WebSocket class does (browsers, Node, Deno, Bun): no Node imports here.
import { reconnectDelay, resolveBackoff } from "./backoff.js";
import { DisconnectedError, RequestError, TimeoutError } from "./errors.js";
import { Listeners } from "./listeners.js";
import { encodeRequest, parseFrame } from "./protocol.js";
function reportToConsole(error, where) {
    console.error(`yoctopus client: ${where} threw`, error);
}
/**
 * A connection to a Yoctopus server.
 *
 * It connects as soon as it is made. Requests get increasing numeric ids and are matched to their
 * replies by `meta.id`, so replies may come in any order; a reply to a request that already timed
 * out is ignored, and so is a reply without an id (the server's answer to a frame it could not
 * parse). Frames with a `meta.type` and no id are pushes, handed to the handlers registered with
 * {@link YoctopusClient.on} for that type and then to those registered with
 * {@link YoctopusClient.onAnyPush}.
 *
 * When the connection drops:
 * - every request in flight (sent, not yet answered) rejects with a DisconnectedError (reason
 *   `"lost"`): it may or may not have run on the server, so only retry what is safe to repeat;
 * - the client reconnects with exponential backoff and jitter (see {@link ClientOptions.reconnect});
 * - requests made meanwhile are queued or rejected as {@link ClientOptions.whileDisconnected} says;
 * - once the new connection is open, the reconnect hooks ({@link YoctopusClient.onReconnect})
 *   run one after the other, then the queued requests are sent, then the state becomes `"open"`.
 *   A request made while the hooks run (a hook rejoining a room, say) goes out at once.
 *
 * A request's timeout counts from the `request()` call, queued time included. An exception thrown
 * by a push handler, a state handler or a reconnect hook goes to {@link ClientOptions.onError}
 * (default `console.error`) and breaks nothing.
 *
 * @example
 * ```ts
 * const client = new YoctopusClient("ws://127.0.0.1:3000/?user=ann");
 * client.on("message", (data) => console.log("message", data));
 * client.onReconnect(async () => {
 *   await client.request("chat:room", "join", { room: "general" }); // the new connection is in no room
 * });
 * await client.request("chat:room", "join", { room: "general" });
 * ```
 */
export class YoctopusClient {
    #url;
    #WebSocket;
    #requestTimeoutMs;
    #backoff;
    #whileDisconnected;
    #maxQueued;
    #onError;
    #pushHandlers = new Map();
    #anyPushHandlers = new Listeners();
    #stateHandlers = new Listeners();
    #reconnectHooks = new Listeners();
    #openedWaiters = [];
    /** Sent, waiting for the answer, by id. */
    #inFlight = new Map();
    /** Made while disconnected, waiting to be sent, in the order made (a Map keeps insertion order). */
    #queued = new Map();
    #nextId = 1;
    #state = "connecting";
    /** The current socket, connecting or open; undefined between attempts and once closed. */
    #socket;
    /** Whether #socket has opened: requests go straight out (also while the reconnect hooks run). */
    #socketOpen = false;
    #hasBeenOpen = false;
    #failedAttempts = 0;
    #reconnectTimer;
    /** Why the client closed, for the requests made afterwards. */
    #closedBecause = "the client was closed";
    /**
     * Connects to `url` (`ws://` or `wss://`). Pass a function to compute the URL afresh for each
     * connection attempt (a fresh token, say). Throws a TypeError if there is no WebSocket class
     * (Node 20 has a global one only with `--experimental-websocket`: pass `ws`'s in `options.WebSocket`),
     * and a RangeError for invalid reconnect options.
     */
    constructor(url, options = {}) {
        this.#url = typeof url === "string" ? () => url : url;
        const WebSocketClass = options.WebSocket ?? globalThis.WebSocket;
        if (typeof WebSocketClass !== "function") {
            throw new TypeError("no WebSocket class: globalThis.WebSocket is missing (Node 20 needs --experimental-websocket); pass one in options.WebSocket, e.g. the ws package's");
        }
        this.#WebSocket = WebSocketClass;
        this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
        this.#backoff = options.reconnect === false ? undefined : resolveBackoff(options.reconnect ?? {});
        this.#whileDisconnected = options.whileDisconnected ?? "queue";
        this.#maxQueued = options.maxQueued ?? 100;
        this.#onError = options.onError ?? reportToConsole;
        this.#connect();
    }
    /** Where the connection stands now; {@link YoctopusClient.onStateChange} tells of each change. */
    get state() {
        return this.#state;
    }
    /**
     * Resolves once the state is `"open"` (at once if it is now); rejects with a DisconnectedError
     * (reason `"closed"`) if the client closes first. It does not time out: race it with a timer if
     * the caller should not wait forever.
     */
    opened() {
        if (this.#state === "open")
            return Promise.resolve();
        if (this.#state === "closed")
            return Promise.reject(new DisconnectedError("closed", this.#closedBecause));
        return new Promise((resolve, reject) => this.#openedWaiters.push({ resolve, reject }));
    }
    /**
     * Sends `data` to `endpoint` (`"plugin:endpoint"` or an alias) `method` and resolves with the
     * answer's `data`, typed `T` on the caller's word (nothing checks it).
     *
     * Rejects with a {@link RequestError} for an error reply, a {@link TimeoutError} when no answer
     * comes within the timeout, or a {@link DisconnectedError} when there is no connection to
     * answer it (its `reason` says why). `data` left out is sent as absent (`null` to the
     * server); data that JSON cannot encode rejects with JSON.stringify's TypeError.
     */
    request(endpoint, method, data, options = {}) {
        return new Promise((resolve, reject) => {
            if (this.#state === "closed") {
                reject(new DisconnectedError("closed", this.#closedBecause));
                return;
            }
            if (!this.#socketOpen) {
                if (this.#whileDisconnected === "reject") {
                    reject(new DisconnectedError("rejected", `${endpoint} ${method}: not connected (${this.#state}) and whileDisconnected is "reject"`));
                    return;
                }
                if (this.#queued.size >= this.#maxQueued) {
                    reject(new DisconnectedError("queue-full", `${endpoint} ${method}: not connected (${this.#state}) and ${this.#maxQueued} requests are already queued`));
                    return;
                }
            }
            const id = this.#nextId++;
            const frame = encodeRequest(id, endpoint, method, data);
            const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
            const request = {
                id,
                endpoint,
                method,
                frame,
                resolve: resolve,
                reject,
                timer: setTimeout(() => {
                    this.#inFlight.delete(id);
                    this.#queued.delete(id);
                    reject(new TimeoutError(endpoint, method, timeoutMs));
                }, timeoutMs),
            };
            if (this.#socketOpen)
                this.#send(request);
            else
                this.#queued.set(id, request);
        });
    }
    /**
     * Calls `handler` with the data of every push of type `type` (and the whole push). Returns the
     * function that unregisters it. A handler that throws is reported to `onError`; the others
     * still run.
     */
    on(type, handler) {
        let handlers = this.#pushHandlers.get(type);
        if (!handlers) {
            handlers = new Listeners();
            this.#pushHandlers.set(type, handlers);
        }
        return handlers.add(handler);
    }
    /** Calls `handler` with every push, after the handlers for its type. Returns the function that unregisters it. */
    onAnyPush(handler) {
        return this.#anyPushHandlers.add(handler);
    }
    /** Calls `handler` with each new state, as it changes. Returns the function that unregisters it. */
    onStateChange(handler) {
        return this.#stateHandlers.add(handler);
    }
    /**
     * Runs `hook` each time the connection opens again after a drop (not at the first open), to
     * restore what the server forgot with the old connection: rejoin a room, subscribe again. Hooks
     * run one after the other, in registration order, each awaited; requests they make go out at
     * once. The requests queued while disconnected are sent only after every hook has settled. A hook
     * that throws or rejects is reported to `onError` and the next one runs. If the connection drops
     * again meanwhile, the remaining hooks are skipped and all of them run after the next reconnect.
     * Returns the function that unregisters the hook.
     */
    onReconnect(hook) {
        return this.#reconnectHooks.add(hook);
    }
    /**
     * Closes the client for good: no reconnect; every request in flight or queued, and every later
     * one, rejects with a DisconnectedError (reason `"closed"`); `opened()` waiters reject too.
     * Calling it again does nothing.
     */
    close() {
        if (this.#state === "closed")
            return;
        const socket = this.#socket;
        this.#socket = undefined;
        this.#socketOpen = false;
        socket?.close();
        this.#shutDown("the client was closed");
    }
    #connect() {
        this.#reconnectTimer = undefined;
        let socket;
        try {
            socket = new this.#WebSocket(this.#url());
        }
        catch (error) {
            this.#report(error, "creating the WebSocket");
            this.#connectionLost();
            return;
        }
        this.#socket = socket;
        // Events of a socket the client has let go of (closed, or replaced) are ignored.
        socket.addEventListener("open", () => {
            if (this.#socket === socket)
                void this.#connectionOpened(socket);
        });
        socket.addEventListener("message", (event) => {
            if (this.#socket === socket)
                this.#receive(event.data);
        });
        socket.addEventListener("close", () => {
            if (this.#socket === socket)
                this.#connectionLost();
        });
        // An error ends the connection too. A close event should follow it, but Node 20's global
        // WebSocket (undici) fires none after a failed connect; and `ws` throws an error event that
        // nobody listens to.
        socket.addEventListener("error", () => {
            if (this.#socket !== socket)
                return;
            this.#connectionLost();
            socket.close();
        });
    }
    async #connectionOpened(socket) {
        this.#socketOpen = true;
        this.#failedAttempts = 0;
        if (this.#hasBeenOpen) {
            for (const { listener: hook, stillRegistered } of this.#reconnectHooks.current()) {
                if (!stillRegistered())
                    continue;
                try {
                    await hook();
                }
                catch (error) {
                    this.#report(error, "a reconnect hook");
                }
                if (this.#socket !== socket)
                    return; // dropped or closed meanwhile
            }
        }
        this.#hasBeenOpen = true;
        for (const request of this.#queued.values())
            this.#send(request);
        this.#queued.clear();
        this.#setState("open");
        const waiters = this.#openedWaiters;
        this.#openedWaiters = [];
        for (const waiter of waiters)
            waiter.resolve();
    }
    #connectionLost() {
        this.#socket = undefined;
        this.#socketOpen = false;
        const inFlight = [...this.#inFlight.values()];
        this.#inFlight.clear();
        for (const request of inFlight) {
            clearTimeout(request.timer);
            request.reject(new DisconnectedError("lost", `${request.endpoint} ${request.method}: the connection dropped before the answer came; the request may or may not have run`));
        }
        if (!this.#backoff) {
            this.#shutDown("the connection dropped and reconnect is off");
            return;
        }
        if (this.#hasBeenOpen)
            this.#setState("reconnecting");
        const delay = reconnectDelay(this.#failedAttempts, this.#backoff);
        this.#failedAttempts += 1;
        this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    }
    /** Enters the final state: stops reconnecting and rejects everything still waiting. */
    #shutDown(because) {
        this.#closedBecause = because;
        clearTimeout(this.#reconnectTimer);
        this.#reconnectTimer = undefined;
        const waiting = [...this.#inFlight.values(), ...this.#queued.values()];
        this.#inFlight.clear();
        this.#queued.clear();
        for (const request of waiting) {
            clearTimeout(request.timer);
            request.reject(new DisconnectedError("closed", `${request.endpoint} ${request.method}: ${because}`));
        }
        this.#setState("closed");
        const waiters = this.#openedWaiters;
        this.#openedWaiters = [];
        for (const waiter of waiters)
            waiter.reject(new DisconnectedError("closed", because));
    }
    #send(request) {
        this.#inFlight.set(request.id, request);
        try {
            this.#socket?.send(request.frame);
        }
        catch (error) {
            this.#inFlight.delete(request.id);
            clearTimeout(request.timer);
            request.reject(new DisconnectedError("lost", `${request.endpoint} ${request.method}: could not send: ${String(error)}`));
        }
    }
    #receive(data) {
        if (typeof data !== "string")
            return; // a binary frame: the protocol's replies and pushes are text
        const frame = parseFrame(data);
        switch (frame.kind) {
            case "answer":
            case "error": {
                const request = typeof frame.id === "number" ? this.#inFlight.get(frame.id) : undefined;
                if (!request)
                    return; // timed out already, or not a request of this client
                this.#inFlight.delete(request.id);
                clearTimeout(request.timer);
                if (frame.kind === "answer")
                    request.resolve(frame.data);
                else
                    request.reject(new RequestError(request.endpoint, request.method, frame.messages));
                return;
            }
            case "push":
                this.#dispatch(frame.push);
                return;
            case "unmatched":
                return;
        }
    }
    #dispatch(push) {
        this.#pushHandlers.get(push.type)?.each((handler) => handler(push.data, push), (error) => this.#report(error, `a handler of "${push.type}" pushes`));
        this.#anyPushHandlers.each((handler) => handler(push), (error) => this.#report(error, "an onAnyPush handler"));
    }
    #setState(state) {
        if (this.#state === state)
            return;
        this.#state = state;
        this.#stateHandlers.each((handler) => handler(state), (error) => this.#report(error, "a state handler"));
    }
    #report(error, where) {
        try {
            this.#onError(error, where);
        }
        catch {
            // onError itself threw: there is nowhere left to report it, and the client must go on.
        }
    }
}

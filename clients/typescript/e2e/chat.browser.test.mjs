// The chat page end to end, in headless Chromium: the chat example serves the page
// (examples/chat/web/) and its WebSocket on one port; two people, ann and bob, each in their own
// browser context, join #general, see each other, talk, write a direct message, live through a
// server restart on the same port, and see each other leave. It also takes the screenshot the
// README shows: test-results/chat.png, and with SCREENSHOT_TO_DOCS=1 docs/images/chat-demo.png.
//
// Run with `npm run test:browser` after `cargo build -p yoctopus-examples --example chat`. Env:
// YOCTOPUS_EXAMPLES_DIR (default ../../target/debug/examples), CHROMIUM (default /usr/bin/chromium;
// no browser is ever downloaded).

import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const examplesDir = resolve(packageDir, process.env.YOCTOPUS_EXAMPLES_DIR ?? "../../target/debug/examples");
/** Where the picture goes: test-results/, and with SCREENSHOT_TO_DOCS=1 also the README's. */
const screenshotPaths = [
  join(packageDir, "test-results/chat.png"),
  ...(process.env.SCREENSHOT_TO_DOCS === "1" ? [join(packageDir, "../../docs/images/chat-demo.png")] : []),
];
/** The longest any one step may take before the test fails saying which. */
const STEP_TIMEOUT_MS = 10_000;

/** Rejects with `message` if `promise` has not settled within `ms`. */
async function within(ms, message, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (waited ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The chat example, started with `PORT=port` (0: any free port); resolves once it printed its
 * address. A restart on the port just freed may find it still taken: then it tries again, a few
 * times.
 */
async function startChat(port = 0) {
  let lastFailure;
  for (let attempt = 1; attempt <= 20; attempt++) {
    try {
      return await startChatOnce(port);
    } catch (error) {
      lastFailure = error;
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  throw new Error(`the chat example did not start on port ${port}: ${lastFailure?.message}`);
}

async function startChatOnce(port) {
  const child = spawn(join(examplesDir, "chat"), [], {
    env: { ...process.env, PORT: String(port), RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((done) => child.once("exit", done));
  const firstLine = new Promise((done, fail) => {
    child.once("error", fail);
    createInterface({ input: child.stdout }).once("line", done);
    void exited.then((code) => fail(new Error(`exited (${code}) before printing its address: ${stderr.trim()}`)));
  });
  try {
    const line = await within(STEP_TIMEOUT_MS, "the chat example printed no address", firstLine);
    const match = /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
    if (!match) throw new Error(`unexpected first line from the chat example: ${line}`);
    const server = {
      port: Number(match[1]),
      /** Kills it (SIGKILL: the server vanishes, as in a crash) and waits for it to be gone. */
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await within(STEP_TIMEOUT_MS, "the chat example did not exit", exited);
      },
    };
    runningServers.add(server);
    return server;
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** Everything started, for the cleanup that runs however the test ends. */
const runningServers = new Set();
let browser;
after(async () => {
  await browser?.close();
  for (const server of runningServers) await server.kill();
});

async function stopChat(server) {
  await server.kill();
  runningServers.delete(server);
}

/** Resolves once `locator` matches a visible element; fails saying `what` otherwise. */
async function seen(locator, what) {
  try {
    await locator.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  } catch {
    throw new Error(`timed out waiting for ${what}`);
  }
}

const byTestId = (page, testId) => page.locator(`[data-testid="${testId}"]`);

async function waitForState(page, who, state) {
  await seen(page.locator(`[data-testid="connection-state"][data-state="${state}"]`), `${who}'s page to show "${state}"`);
}

/** Waits until `page`'s user list is exactly `users`, in order. */
async function waitForUsers(page, who, users) {
  const expected = JSON.stringify(users);
  try {
    await page.waitForFunction(
      (want) =>
        JSON.stringify([...document.querySelectorAll('[data-testid="user"]')].map((item) => item.dataset.user)) === want,
      expected,
      { timeout: STEP_TIMEOUT_MS },
    );
  } catch {
    const shown = await byTestId(page, "user").evaluateAll((items) => items.map((item) => item.dataset.user));
    throw new Error(`${who}'s user list: wanted ${expected}, shows ${JSON.stringify(shown)}`);
  }
}

/**
 * Waits for a log entry of `kind` (see demo/chat.ts's LogKind) whose text contains `text`; with
 * `count`, for that many of them.
 */
async function waitForLog(page, who, kind, text, count = 1) {
  await seen(
    page.locator(`[data-testid="log-entry"][data-kind="${kind}"]`).filter({ hasText: text }).nth(count - 1),
    `${who}'s log to show ${count === 1 ? "a" : count} ${kind} entr${count === 1 ? "y" : "ies"} with "${text}"`,
  );
}

async function logTexts(page, kind) {
  return page.locator(`[data-testid="log-entry"][data-kind="${kind}"] .text`).allTextContents();
}

async function signIn(page, name) {
  await byTestId(page, "name-input").fill(name);
  await byTestId(page, "name-submit").click();
}

/** Types `text` into the composer and sends it; waits until the page logged it as sent. */
async function say(page, who, text, sentKind = "message-own") {
  await byTestId(page, "text-input").fill(text);
  await byTestId(page, "text-input").press("Enter");
  await waitForLog(page, who, sentKind, text.replace(/^\/dm \S+ /, ""));
}

/** Both pages side by side, as one PNG: each page's screenshot in a third page, screenshotted. */
async function sideBySide(left, right) {
  const shots = await Promise.all([left.page.screenshot(), right.page.screenshot()]);
  const figures = [left, right]
    .map(
      ({ name }, index) =>
        `<figure><img src="data:image/png;base64,${shots[index].toString("base64")}"><figcaption>${name}'s browser</figcaption></figure>`,
    )
    .join("");
  const context = await browser.newContext({ viewport: { width: 400, height: 300 } });
  try {
    const page = await context.newPage();
    await page.setContent(
      `<style>
        body { margin: 0; padding: 16px; display: inline-flex; gap: 16px; background: #dde3ea;
               font: 14px system-ui, sans-serif; color: #3e4c59; }
        figure { margin: 0; } img { display: block; border: 1px solid #b8c4d0; border-radius: 6px; }
        figcaption { text-align: center; margin-top: 6px; }
      </style>${figures}`,
    );
    await page.locator("img").evaluateAll((images) => Promise.all(images.map((image) => image.decode())));
    return await page.screenshot({ fullPage: true });
  } finally {
    await context.close();
  }
}

test("two people chat in the browser, through a server restart", { timeout: 180_000 }, async () => {
  let server = await startChat();
  const port = server.port;
  const pageUrl = `http://127.0.0.1:${port}/`;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  /** Uncaught exceptions in the pages' scripts: there must be none. */
  const pageErrors = [];
  const open = async (name) => {
    const context = await browser.newContext({ viewport: { width: 720, height: 500 } });
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${name}'s page: ${error.message}`));
    await page.goto(pageUrl, { timeout: STEP_TIMEOUT_MS });
    return { name, context, page };
  };
  const ann = await open("ann");
  const bob = await open("bob");

  // The server refuses a bad name; the page says so and lets one try again.
  await signIn(ann.page, "ann smith");
  await seen(byTestId(ann.page, "sign-in-error").filter({ hasText: "did not accept" }), "ann's page to show the refusal");

  await signIn(ann.page, "ann");
  await waitForState(ann.page, "ann", "open");
  await waitForUsers(ann.page, "ann", ["ann"]);
  await signIn(bob.page, "bob");
  await waitForState(bob.page, "bob", "open");
  await seen(byTestId(bob.page, "current-room").filter({ hasText: "#general" }), "bob's page to be in #general");
  await waitForUsers(bob.page, "bob", ["ann", "bob"]);
  await waitForUsers(ann.page, "ann", ["ann", "bob"]);
  await waitForLog(ann.page, "ann", "joined", "bob joined #general");

  await say(ann.page, "ann", "Hi bob! Is the new client working for you?");
  await waitForLog(bob.page, "bob", "message", "Hi bob! Is the new client working for you?");
  await say(bob.page, "bob", "It is: typed bindings straight from the schema.");
  await waitForLog(ann.page, "ann", "message", "It is: typed bindings straight from the schema.");

  // A direct message: ann clicks bob in the list; bob answers with /dm.
  await byTestId(ann.page, "user-list").locator('[data-user="bob"] button').click();
  await seen(byTestId(ann.page, "target").filter({ hasText: "bob" }), "ann's composer to write to bob");
  await say(ann.page, "ann", "Psst, this one is just for you.", "direct-out");
  await waitForLog(bob.page, "bob", "direct-in", "Psst, this one is just for you.");
  await byTestId(ann.page, "target").click(); // back to the room
  await say(bob.page, "bob", "/dm ann Got it, thanks.", "direct-out");
  await waitForLog(ann.page, "ann", "direct-in", "Got it, thanks.");
  const annDirects = await logTexts(ann.page, "direct-in");
  const bobRoomMessages = await logTexts(bob.page, "message");
  if (annDirects.some((text) => text.includes("Psst")) || bobRoomMessages.some((text) => text.includes("Psst"))) {
    throw new Error(`ann's direct message went astray: ann's DMs ${JSON.stringify(annDirects)}, bob's room messages ${JSON.stringify(bobRoomMessages)}`);
  }

  // The server goes away and comes back on the same port: both pages reconnect and rejoin.
  await stopChat(server);
  await waitForState(ann.page, "ann", "reconnecting");
  await waitForState(bob.page, "bob", "reconnecting");
  server = await startChat(port);
  await waitForState(ann.page, "ann", "open");
  await waitForState(bob.page, "bob", "open");
  await waitForLog(ann.page, "ann", "info", "reconnected: rejoined #general");
  await waitForLog(bob.page, "bob", "info", "reconnected: rejoined #general");
  await waitForUsers(ann.page, "ann", ["ann", "bob"]);
  await waitForUsers(bob.page, "bob", ["ann", "bob"]);
  await say(bob.page, "bob", "The server just restarted and we are both back.");
  await waitForLog(ann.page, "ann", "message", "The server just restarted and we are both back.");
  await say(ann.page, "ann", "Rejoined #general by itself. Nice.");
  await waitForLog(bob.page, "bob", "message", "Rejoined #general by itself. Nice.");

  // For the picture: ann's composer set to write to bob alone.
  await byTestId(ann.page, "user-list").locator('[data-user="bob"] button').click();
  await seen(byTestId(ann.page, "target").filter({ hasText: "bob" }), "ann's composer to write to bob");
  const picture = await sideBySide(ann, bob);
  for (const path of screenshotPaths) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, picture);
  }

  // bob tries a bad room name (the server's answer shows), moves to #random and comes back.
  await byTestId(bob.page, "room-input").fill("no spaces");
  await byTestId(bob.page, "room-join").click();
  await waitForLog(bob.page, "bob", "error", "a room name is 1 to 32 characters");
  await byTestId(bob.page, "room-input").fill("random");
  await byTestId(bob.page, "room-join").click();
  await seen(byTestId(bob.page, "current-room").filter({ hasText: "#random" }), "bob's page to be in #random");
  await waitForUsers(bob.page, "bob", ["bob"]);
  await waitForUsers(ann.page, "ann", ["ann"]);
  await byTestId(bob.page, "room-input").fill("general");
  await byTestId(bob.page, "room-join").click();
  await waitForUsers(bob.page, "bob", ["ann", "bob"]);
  await waitForUsers(ann.page, "ann", ["ann", "bob"]);

  // bob closes his browser: ann sees him leave.
  await bob.context.close();
  await waitForLog(ann.page, "ann", "left", "bob left #general", 2); // the first was his move to #random
  await waitForUsers(ann.page, "ann", ["ann"]);

  await ann.context.close();
  await stopChat(server);
  if (pageErrors.length > 0) throw new Error(`the pages threw:\n${pageErrors.join("\n")}`);
});

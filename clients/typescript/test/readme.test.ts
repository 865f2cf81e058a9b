// The README's TypeScript example is examples/readme.ts: the same text below the imports (the
// README imports from the package and the bindings' own file), and it does what it prints when
// run against the real chat server.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, mock, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chat } from "../examples/readme.js";
import { ExampleServer, stopAllServers } from "./support/servers.js";
import { within } from "./support/waits.js";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

after(stopAllServers);

/** `source` from its first line after the imports (and the comments above them). */
function belowImports(source: string): string {
  const lines = source.trimEnd().split("\n");
  const lastImport = lines.reduce((last, line, index) => (line.startsWith("import ") ? index : last), -1);
  assert.ok(lastImport >= 0, "the example has imports");
  return lines.slice(lastImport + 1).join("\n").trim();
}

test("the README's example is examples/readme.ts", () => {
  const readme = readFileSync(path.join(packageDir, "../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The TypeScript client"));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(block?.[1], "README's TypeScript client section has a ```ts block");
  const example = readFileSync(path.join(packageDir, "examples/readme.ts"), "utf8");
  assert.equal(belowImports(block[1]), belowImports(example));
});

test("the README's example runs against the chat server", async () => {
  const server = await ExampleServer.start("chat");
  const printed: string[] = [];
  const log = mock.method(console, "log", (line: unknown) => void printed.push(String(line)));
  try {
    await within(chat(new URL(server.address).host), "the example");
  } finally {
    log.mock.restore();
  }
  assert.deepEqual(printed, ["in #general: ann", "reached 0 other connections"]);
});

#!/usr/bin/env node
// `npm run web:check`: fails when the committed examples/chat/web/js/ is not what
// `npm run build:web` makes from src/, generated/chat.ts and demo/ now. The chat server serves
// that folder as it is, so a change to the client or the page must come with its compiled output.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const committed = join(packageDir, "../../examples/chat/web/js");
const fresh = mkdtempSync(join(tmpdir(), "yoctopus-web-check-"));

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

try {
  const tsc = join(packageDir, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.web.json", "--outDir", fresh], {
    cwd: packageDir,
    stdio: "inherit",
  });
  const built = filesUnder(fresh);
  const present = filesUnder(committed);
  const problems = [
    ...built.filter((file) => !present.includes(file)).map((file) => `missing: ${file}`),
    ...present.filter((file) => !built.includes(file)).map((file) => `not built from any source: ${file}`),
    ...built
      .filter((file) => present.includes(file))
      .filter((file) => !readFileSync(join(fresh, file)).equals(readFileSync(join(committed, file))))
      .map((file) => `differs: ${file}`),
  ];
  if (problems.length > 0) {
    console.error(`examples/chat/web/js/ is not what \`npm run build:web\` makes:\n  ${problems.join("\n  ")}`);
    console.error("Run `npm run build:web` in clients/typescript and commit examples/chat/web/js/.");
    process.exitCode = 1;
  } else {
    console.log(`examples/chat/web/js/ is up to date (${built.length} files).`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}

// Starts, pauses, restarts and stops the Rust example servers the tests run against (the Quick
// Start and the chat example, built by `cargo build -p yoctopus-examples --example chat --example
// quickstart`). Every server started here is killed by `stopAllServers()`, which each test file
// calls in `after()`, and, should that not run, when the test process exits.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** clients/typescript, from dist/test/support/servers.js. */
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Where the example binaries are: `YOCTOPUS_EXAMPLES_DIR` (relative to clients/typescript) or the workspace's debug build. */
const examplesDir = path.resolve(packageDir, process.env.YOCTOPUS_EXAMPLES_DIR ?? "../../target/debug/examples");

/** How long a server may take to print its address. */
const startTimeoutMs = 20_000;
/** How long a server's threads may take to stop after SIGSTOP. */
const stopTimeoutMs = 2_000;
/** How long a killed server may take to exit. */
const exitTimeoutMs = 5_000;
/** How many times a restart on the same port is tried while the port is not free yet. */
const restartAttempts = 20;

export type ExampleName = "chat" | "quickstart";

const running = new Set<ExampleServer>();

process.on("exit", () => {
  for (const server of running) server.killNow();
});

/** One running example server process. */
export class ExampleServer {
  readonly name: ExampleName;
  /** `ws://127.0.0.1:PORT`. */
  readonly address: string;
  readonly port: number;
  #process: ChildProcess;

  private constructor(name: ExampleName, address: string, child: ChildProcess) {
    this.name = name;
    this.address = address;
    this.port = Number(new URL(address).port);
    this.#process = child;
  }

  /** Starts example `name` on `port` (0: any free port) and waits until it listens. */
  static async start(name: ExampleName, port = 0): Promise<ExampleServer> {
    const { address, child } = await launch(name, port);
    const server = new ExampleServer(name, address, child);
    running.add(server);
    return server;
  }

  /** The chat example's URL for user `user`. */
  chatUrl(user: string): string {
    return `${this.address}/?user=${encodeURIComponent(user)}`;
  }

  /**
   * Freezes the process (SIGSTOP): connections stay up, nothing is answered until {@link resume}.
   * Resolves once every thread of it has stopped (read from Linux's /proc): the signal takes
   * effect a moment after it is sent, and a request sent in that moment would still be answered.
   */
  async pause(): Promise<void> {
    this.#process.kill("SIGSTOP");
    const tasks = `/proc/${this.#process.pid}/task`;
    const deadline = Date.now() + stopTimeoutMs;
    for (;;) {
      const states = await Promise.all(
        (await readdir(tasks)).map(async (task) => threadState(await readFile(`${tasks}/${task}/stat`, "utf8"))),
      );
      if (states.every((state) => state === "T")) return;
      if (Date.now() > deadline) throw new Error(`${this.name} did not stop within ${stopTimeoutMs} ms of SIGSTOP: ${states.join("")}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Lets a paused process go on (SIGCONT). */
  resume(): void {
    this.#process.kill("SIGCONT");
  }

  /** Kills the process (SIGKILL: its connections drop at once) and waits until it has exited. */
  async stop(): Promise<void> {
    running.delete(this);
    await killAndWait(this.#process);
  }

  /** Starts the process again on the same port, after {@link stop}, retrying while the port is not free yet. */
  async startAgain(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < restartAttempts; attempt++) {
      try {
        const { child } = await launch(this.name, this.port);
        this.#process = child;
        running.add(this);
        return;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`could not restart ${this.name} on port ${this.port}: ${String(lastError)}`);
  }

  /** Kills the process without waiting (for the exit handler). */
  killNow(): void {
    this.#process.kill("SIGKILL");
  }
}

/** Kills every server still running; each test file calls it in `after()`. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

/** Starts the binary and resolves with the address from its first line of output. */
function launch(name: ExampleName, port: number): Promise<{ address: string; child: ChildProcess }> {
  const binary = path.join(examplesDir, name);
  const child = spawn(binary, [], {
    env: { ...process.env, PORT: String(port), RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${name} (${binary}, PORT=${port}) ${why}; its output:\n${output}`));
    };
    const timer = setTimeout(() => fail(`printed no address within ${startTimeoutMs} ms`), startTimeoutMs);
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      const address = /listening on (ws:\/\/[^/\s]+)/.exec(output)?.[1];
      if (address && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ address, child });
      }
    };
    // Both streams are read to the end, so that the server never blocks on a full pipe.
    child.stdout?.on("data", collect);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", (error) => fail(`could not be started: ${error.message} (build it: cargo build -p yoctopus-examples --example ${name})`));
    child.on("exit", (code, signal) => fail(`exited (code ${code}, signal ${signal}) before listening`));
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${exitTimeoutMs} ms of SIGKILL`)), exitTimeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGKILL");
  });
}

/** The state letter of a thread's /proc/…/stat line ("T": stopped), after its "(name)". */
function threadState(stat: string): string {
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

// SPDX-License-Identifier: Apache-2.0
// Shared helpers of the JS end-to-end tests: free ports, a real binderyd process, and checks.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeComponent(dir, name, type, items) {
  const meta = Object.entries(items)
    .map(([k, v]) => `  - name: ${k}\n    value: ${JSON.stringify(v)}\n`)
    .join("");
  fs.writeFileSync(
    path.join(dir, `${name}.yaml`),
    `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n${meta}`,
  );
}

/** Starts binderyd and resolves once /v1.0/healthz/outbound answers 204. */
export async function startBinderyd(args, { timeoutMs = 15000 } = {}) {
  const exe = process.env.BINDERYD;
  if (!exe || !fs.existsSync(exe)) throw new Error(`BINDERYD does not point at binderyd: ${exe}`);
  const child = spawn(exe, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const port = args[args.indexOf("--dapr-http-port") + 1];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`binderyd exited with ${child.exitCode}:\n${log}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v1.0/healthz/outbound`);
      if (r.status === 204) return { child, log: () => log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`binderyd did not become ready in ${timeoutMs} ms:\n${log}`);
}

export async function stopBinderyd(d) {
  if (!d || d.child.exitCode !== null) return;
  const exited = new Promise((r) => d.child.once("exit", r));
  d.child.kill("SIGINT");
  const timer = setTimeout(() => d.child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

export function equal(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`check failed: ${message}\n  actual:   ${a}\n  expected: ${e}`);
}

/** Runs main(); prints PASS or the error and sets the exit code. Always exits. */
export function run(name, main) {
  const guard = setTimeout(() => {
    console.error(`${name}: FAIL: timed out`);
    process.exit(1);
  }, 60000);
  main()
    .then(() => {
      console.log(`${name}: PASS`);
      clearTimeout(guard);
      process.exit(0);
    })
    .catch((e) => {
      console.error(`${name}: FAIL: ${e.stack || e}`);
      process.exit(1);
    });
}

// No reader can change what another reader sees: every reader maps the
// records read-only, whoever created the channel and in every language. A
// reader that writes into a received view faults (SIGSEGV at the write) or
// is refused; another reader of the same record, in another language,
// still sees the bytes the writer committed.
import { afterEach, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { Subprocess } from "bun";
import { makeTable } from "apache-arrow";
import { createWriter, openReader, openWriter, publish } from "../lib/index.ts";
import { removeName } from "../lib/segment.ts";
import { python, pythonEnv } from "../scripts/python.ts";
import { finished, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

type Child = Subprocess<"pipe", "pipe", "pipe">;
const pythonChildren: Child[] = [];

afterEach(() => {
  for (const child of pythonChildren.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** The Python reader of test/fixtures/scribbling_reader.py; it receives once told to on stdin (go()). */
function spawnPythonReader(name: string, mode: "check" | "scribble" | "table"): Child {
  const fixture = new URL("./fixtures/scribbling_reader.py", import.meta.url).pathname;
  const child = Bun.spawn([python(), fixture, name, mode], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: pythonEnv() });
  pythonChildren.push(child);
  return child;
}

function go(child: Child): void {
  child.stdin.write("go\n");
  child.stdin.flush();
}

/** A record of 4096 bytes (sent zero-copy: COPY_BELOW is smaller) and its SHA-256. */
function record(): { bytes: Uint8Array; sha256: string } {
  const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff);
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** The scribbling TypeScript reader wrote into its view: it must have faulted there, never changed the record. */
async function expectFaulted(child: Subprocess<"ignore", "pipe", "pipe">): Promise<void> {
  await waitForLine(child, (line) => line === "received");
  // Had the write gone through, the child would print what it wrote and exit 0.
  await expect(finished(child)).rejects.toThrow(/exited with 139: [^]*Segmentation fault at address/);
  await child.exited;
  expect(child.signalCode).toBe("SIGSEGV");
}

for (const mode of ["open", "create"] as const) {
  test(`a TypeScript reader (${mode}Reader) that writes into a record faults; a Python reader of the same record sees the committed bytes`, async () => {
    const name = uniqueName(`scribble-${mode}`);
    const { bytes, sha256 } = record();
    let writer;
    let scribbler;
    try {
      if (mode === "open") {
        writer = createWriter(name, { capacity: 1 << 16 });
        scribbler = spawnFixture("scribbling-reader.ts", ["open", name]);
        await waitForLine(scribbler, (line) => line === "ready");
      } else {
        scribbler = spawnFixture("scribbling-reader.ts", ["create", name]);
        await waitForLine(scribbler, (line) => line === "ready");
        writer = openWriter(name);
      }
      const checker = spawnPythonReader(name, "check");
      await waitForLine(checker, (line) => line === "ready");
      writer.send(bytes);
      await expectFaulted(scribbler);
      go(checker);
      expect(JSON.parse(await finished(checker))).toEqual({ length: bytes.length, sha256 });
    } finally {
      writer?.close({ timeoutMs: 0 });
      // A creator that died by SIGSEGV removed nothing (one that never got
      // as far as creating it left nothing to remove).
      if (mode === "create") removeName(name, "unlink", true);
    }
  });
}

test("a TypeScript reader that writes into the ArrayBuffer under a record's view faults too; a Python reader of the channel is unharmed", async () => {
  const name = uniqueName("scribble-buffer");
  const { bytes, sha256 } = record();
  using writer = createWriter(name, { capacity: 1 << 16 });
  const scribbler = spawnFixture("scribbling-reader.ts", ["buffer", name]);
  await waitForLine(scribbler, (line) => line === "ready");
  const checker = spawnPythonReader(name, "check");
  await waitForLine(checker, (line) => line === "ready");
  writer.send(bytes);
  await expectFaulted(scribbler); // the buffer is the record ring, all of it read-only: not the header
  go(checker);
  expect(JSON.parse(await finished(checker))).toEqual({ length: bytes.length, sha256 });
});

test("a Python reader that writes into a record is refused or faults; a TypeScript reader of the same record sees the committed bytes", async () => {
  const name = uniqueName("scribble-python");
  const { bytes, sha256 } = record();
  using writer = createWriter(name, { capacity: 1 << 16 });
  const scribbler = spawnPythonReader(name, "scribble");
  await waitForLine(scribbler, (line) => line === "ready");
  using reader = openReader(name);
  writer.send(bytes);
  go(scribbler);
  expect(JSON.parse(await waitForLine(scribbler, (line) => line.startsWith("{")))).toEqual({ memoryview: "TypeError", pyarrow: "immutable" });
  await scribbler.exited;
  expect(scribbler.signalCode).toBe("SIGSEGV"); // the write through the record's address
  using message = reader.recvSync({ timeoutMs: 10_000 })!;
  expect(message.zeroCopy).toBe(true);
  expect(createHash("sha256").update(message.bytes).digest("hex")).toBe(sha256);
});

test("a TypeScript reader that writes into a published table's column faults; a Python reader of the table sees the published values", async () => {
  const name = uniqueName("scribble-table");
  const rows = 10_000;
  using published = publish(name, makeTable({ value: Float64Array.from({ length: rows }, (_, i) => i) }));
  const checker = spawnPythonReader(name, "table");
  await waitForLine(checker, (line) => line === "ready");
  const scribbler = spawnFixture("scribbling-reader.ts", ["table", name]);
  await waitForLine(scribbler, (line) => line === "ready");
  await expectFaulted(scribbler);
  go(checker);
  expect(JSON.parse(await finished(checker))).toEqual({ rows, sum: (rows * (rows - 1)) / 2 });
  expect(published.persistent).toBe(false);
});

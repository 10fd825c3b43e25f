// Runs the C fuzzer of the Arrow message check (ffi/test/fuzz_arrow.c, built
// with ASan and UBSan) on seed streams written by apache-arrow: any read out
// of bounds or undefined behaviour in the check fails this test.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeDictionary, encodeRecordBatch, encodeSchema, type Encoded, writeMessage } from "../lib/arrow/ipc.ts";
import { sampleTables } from "./fixtures/arrow-tables.ts";

const ffi = new URL("../ffi/", import.meta.url).pathname;
const ROUNDS = 60_000;

/** A table as an IPC stream of the messages ArrowWriter sends. */
function streamOf(table: ReturnType<typeof sampleTables>[string]): Uint8Array {
  const messages: Encoded[] = [encodeSchema(table.schema)];
  for (const batch of table.batches) {
    for (const [id, dictionary] of batch.dictionaries) dictionary.data.forEach((chunk, i) => messages.push(encodeDictionary(chunk, id, i > 0)));
    messages.push(encodeRecordBatch(batch));
  }
  const out = new Uint8Array(messages.reduce((sum, m) => sum + m.byteLength, 0));
  let at = 0;
  for (const message of messages) {
    writeMessage(message, out.subarray(at));
    at += message.byteLength;
  }
  return out;
}

test(`the Arrow message check survives ${ROUNDS} mutated messages under ASan`, async () => {
  const build = Bun.spawnSync(["make", "-s", "-C", ffi, "fuzz"], { stderr: "pipe" });
  expect(build.exitCode, build.stderr.toString()).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-fuzz-"));
  try {
    const seeds: string[] = [];
    for (const [label, table] of Object.entries(sampleTables())) {
      if (label === "long") continue; // big seeds only slow the rounds down
      const path = join(dir, `ts-${label}.arrows`);
      await Bun.write(path, streamOf(table));
      seeds.push(path);
    }
    const run = Bun.spawnSync([join(ffi, "build/fuzz_arrow"), String(ROUNDS), ...seeds], { stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.exitCode, output).toBe(0);
    expect(output).toMatch(/messages accepted as written/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

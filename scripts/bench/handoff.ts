// Arrow batch hand-off latency: how long from the sender's side to the
// receiver holding a usable batch, for one size and one way of sending.
//   bun scripts/bench/handoff.ts <transport> <bytes> [reps] [warm-up rounds] [idle ms]
// transports:
//   shm       shmpipe, TS -> TS (scripts/bench/handoff-reader.ts)
//   shm-py    shmpipe, TS -> Python (scripts/bench/handoff_reader.py)
//   unix      Arrow IPC stream over a Unix socket, TS -> TS
//   tcp       the same over TCP loopback
//   http-json columns as JSON, POSTed with fetch to a Bun.serve receiver
//   csv       a CSV file written, then read and parsed by the receiver
// The batch has a Float64 and an Int32 column, `bytes` in all. The receiver
// reads one value of each column, notes CLOCK_MONOTONIC and sends it back
// on a small shmpipe channel, outside the measured interval. For shmpipe the
// interval starts at commit (the reader's whole cost) and, in a second
// figure, before the writer copies the batch into shared memory; for the
// others, before the sender starts serialising. Prints one JSON line per
// figure: {"case", "value" (µs, median of reps), "unit"}.
// SHMPIPE_BENCH_KEEP_WARM=1 (shm, a TS reader): the reader is an ArrowReader
// with keepWarm, and the case's name says so.
// idle ms (shm only): the writer waits this long between writing a batch
// and committing it, as a big copy makes the reader wait: it shows what
// waking a reader that slept that long costs, whatever the batch's size.
// shm and shm-py first send JIT_BATCHES small batches of the same schema,
// untimed and without idling: the reader's code then runs compiled as in a
// stream that has been going for a while, whatever the size. Without them
// a few warm-up rounds of a large batch leave a TypeScript reader in the
// JIT's lower tiers, where the same work costs several times more
// (scripts/bench/decode.ts), and the case measures the JIT, not the hand-off.
import { makeTable } from "apache-arrow";
import { sizeLabel } from "./size-label.ts";
import { tableToIPC } from "apache-arrow";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReader, createWriter } from "../../lib/index.ts";
import { monotonicNs, sleepSync } from "#ffi";
import { encodeRecordBatch, encodeSchema, writeMessage } from "../../lib/arrow/ipc.ts";
import { python, pythonEnv } from "../python.ts";
import { pinnedPeer, runtimeArgv, runtimeLabel } from "./pin.ts";

const [transport = "shm", bytesText = "1048576", repsText, warmupsText, idleText = "0"] = process.argv.slice(2);
const idleMs = Number(idleText);
const bytes = Number(bytesText);
const reps = Number(repsText ?? (bytes <= 1 << 20 ? 200 : bytes <= 1 << 27 ? 20 : 5));
// Enough first rounds that the JIT has compiled the reading path.
const warmups = Number(warmupsText ?? (bytes <= 1 << 27 ? 30 : 5));
if (!(reps >= 1 && warmups >= 0)) throw new Error("usage: handoff.ts <transport> <bytes> [reps >= 1] [warm-up rounds]");
const rows = Math.max(1, Math.floor(bytes / 12));
const x = new Float64Array(rows);
const y = new Int32Array(rows);
for (let i = 0; i < rows; i++) {
  x[i] = i * 0.5;
  y[i] = i;
}
const table = makeTable({ x, y });
const batch = table.batches[0]!;

const here = new URL(".", import.meta.url).pathname;
const tag = `bench-${process.pid}`;
using ack = createReader(`${tag}-ack`, { capacity: 1 << 16 });
// The receiver runs under this case's runtime (or Python), so the same
// case measures Bun and Deno alike.
const [receiverProgram, ...receiverArgs] = pinnedPeer(transport === "shm-py"
  ? [python(), join(here, "handoff_reader.py"), tag]
  : runtimeArgv(join(here, "handoff-reader.ts"), [transport, tag]));
const receiver = spawn(receiverProgram!, receiverArgs, { stdio: ["ignore", "pipe", "inherit"], env: transport === "shm-py" ? pythonEnv() : process.env });
const receiverExited = new Promise<void>((resolve) => receiver.once("exit", () => resolve()));

/** The receiver's first line: "ready" plus whatever it tells us (a port, a path). */
function ready(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const take = (chunk: Buffer) => {
      text += chunk.toString();
      if (!text.includes("\n")) return;
      receiver.stdout!.off("data", take); // the rest of its output is drained unread
      resolve(text.split("\n")[0]!.replace(/^ready ?/, ""));
    };
    receiver.stdout!.on("data", take);
    receiverExited.then(() => reject(new Error(`receiver for ${transport} ended early`)));
  });
}

/** When the receiver held the batch (its CLOCK_MONOTONIC, ns). */
function acknowledged(): number {
  const message = ack.recvSync({ timeoutMs: 300_000 });
  if (!message) throw new Error("receiver closed its acknowledgements");
  return new DataView(message.bytes.buffer, message.bytes.byteOffset, 8).getFloat64(0, true);
}

const CHUNK = 4 << 20;

/** Small batches (same schema) sent first to the shm readers; see the top. */
const JIT_BATCHES = 2000;

type Send = () => Promise<{ start: number; commit?: number }>;

async function senderFor(): Promise<Send> {
  switch (transport) {
    case "shm":
    case "shm-py": {
      const message = encodeRecordBatch(batch);
      const writer = createWriter(`${tag}-data`, { capacity: 2 * (message.byteLength + 4096) });
      await ready();
      const schema = encodeSchema(batch.schema);
      writeMessage(schema, writer.claim(schema.byteLength));
      writer.commit();
      const first = Math.min(rows, 64);
      const small = encodeRecordBatch(makeTable({ x: x.subarray(0, first), y: y.subarray(0, first) }).batches[0]!);
      for (let i = 0; i < JIT_BATCHES; i++) {
        writeMessage(small, writer.claim(small.byteLength));
        writer.commit();
        acknowledged();
      }
      return async () => {
        const start = monotonicNs();
        writeMessage(message, writer.claim(message.byteLength));
        if (idleMs > 0) sleepSync(idleMs);
        const commit = monotonicNs();
        writer.commit();
        return { start, commit };
      };
    }
    case "unix":
    case "tcp": {
      const address = await ready();
      const socket = transport === "unix" ? connect(address) : connect(Number(address), "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      return async () => {
        const start = monotonicNs();
        const ipc = tableToIPC(table, "stream");
        const length = new Uint8Array(8);
        new DataView(length.buffer).setFloat64(0, ipc.byteLength, true);
        socket.write(length);
        // In pieces, each awaited until the kernel took it: one huge write
        // makes Bun's socket crawl (a 1 GiB write ran for minutes), and
        // waiting for "drain" sometimes waited for ever.
        for (let at = 0; at < ipc.byteLength; at += CHUNK) {
          await new Promise<void>((resolve, reject) => socket.write(ipc.subarray(at, at + CHUNK), (error) => (error ? reject(error) : resolve())));
        }
        return { start };
      };
    }
    case "http-json": {
      const url = `http://127.0.0.1:${await ready()}/`;
      return async () => {
        const start = monotonicNs();
        await fetch(url, { method: "POST", body: JSON.stringify({ x: Array.from(x), y: Array.from(y) }) });
        return { start };
      };
    }
    case "csv": {
      const path = join(tmpdir(), `${tag}.csv`);
      const go = createWriter(`${tag}-go`, { capacity: 1 << 16 });
      await ready();
      return async () => {
        const start = monotonicNs();
        const lines = new Array<string>(rows + 1);
        lines[0] = "x,y";
        for (let i = 0; i < rows; i++) lines[i + 1] = `${x[i]},${y[i]}`;
        writeFileSync(path, `${lines.join("\n")}\n`);
        go.send(path);
        return { start };
      };
    }
    default:
      throw new Error(`unknown transport "${transport}": shm, shm-py, unix, tcp, http-json or csv`);
  }
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

const names: Record<string, string> = {
  shm: `shmpipe ${runtimeLabel}->${runtimeLabel}${process.env.SHMPIPE_BENCH_KEEP_WARM === "1" ? ", keepWarm reader" : ""}${idleMs ? `, reader idle ${idleMs} ms,` : ""}`, "shm-py": `shmpipe ${runtimeLabel}->Python`, unix: "Arrow IPC over Unix socket", tcp: "Arrow IPC over TCP loopback",
  "http-json": "JSON over HTTP (fetch -> Bun.serve)", csv: "CSV file written + parsed",
};
const size = sizeLabel(bytes);
try {
  const send = await senderFor();
  const fromStart: number[] = [];
  const fromCommit: number[] = [];
  for (let rep = 0; rep < warmups + reps; rep++) {
    const { start, commit } = await send();
    const held = acknowledged();
    if (rep < warmups) continue;
    fromStart.push((held - start) / 1000);
    if (commit !== undefined) fromCommit.push((held - commit) / 1000);
  }
  const print = (what: string, values: number[]) => console.log(JSON.stringify({ case: `${what}, ${size} batch`, value: Number(median(values).toFixed(1)), unit: "µs" }));
  if (fromCommit.length) print(`${names[transport]} commit -> usable`, fromCommit);
  print(`${names[transport]}${fromCommit.length ? " write -> usable" : ""}`, fromStart);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  receiver.kill();
  await receiverExited;
  rmSync(join(tmpdir(), `${tag}.csv`), { force: true });
  rmSync(join(tmpdir(), `${tag}.sock`), { force: true });
  process.exit(process.exitCode ?? 0);
}

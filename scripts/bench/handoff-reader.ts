// The receiving side of scripts/bench/handoff.ts (and of handoff_sender.py,
// Python -> TS): gets each batch by the given transport, reads one value of
// each column, and acknowledges with its CLOCK_MONOTONIC time on the
// channel `<tag>-ack`.
//   bun scripts/bench/handoff-reader.ts <transport> <tag>
// With SHMPIPE_BENCH_STAMP=arrival (shm only) it stamps as soon as the
// record arrives (recvSync returned), before the Arrow check and decode:
// that splits "commit -> usable" into the wait and the reader's own work.
import { makeTable, type RecordBatch, type Table, tableFromIPC } from "apache-arrow";
import { createServer } from "node:net";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArrowReader, openReader, openWriter } from "../../lib/index.ts";
import { monotonicNs } from "#ffi";

const [transport, tag] = process.argv.slice(2);
const ack = openWriter(`${tag}-ack`);
const stamp = new Float64Array(1);

function held(data: Table | RecordBatch): void {
  const x = data.getChildAt(0)!, y = data.getChildAt(1)!;
  if (x.get(0) !== 0 || y.get(y.length - 1) !== y.length - 1) throw new Error("receiver got wrong values");
  stamp[0] = monotonicNs();
  ack.send(stamp);
}

switch (transport) {
  case "shm": {
    const channel = openReader(`${tag}-data`);
    // SHMPIPE_BENCH_KEEP_WARM=1: the reader keeps its decode warm while it waits (ArrowReader's keepWarm).
    const reader = new ArrowReader(channel, { keepWarm: process.env.SHMPIPE_BENCH_KEEP_WARM === "1" });
    console.log("ready");
    if (process.env.SHMPIPE_BENCH_STAMP === "arrival") {
      channel.recvSync({ timeoutMs: Infinity })?.release(); // the schema comes first, then only batches
      for (let m = channel.recvSync({ timeoutMs: Infinity }); m; m = channel.recvSync({ timeoutMs: Infinity })) {
        stamp[0] = monotonicNs();
        m.release();
        ack.send(stamp);
      }
      break;
    }
    for (let batch = reader.readSync({ timeoutMs: Infinity }); batch; batch = reader.readSync({ timeoutMs: Infinity })) held(batch);
    break;
  }
  case "unix":
  case "tcp": {
    const path = join(tmpdir(), `${tag}.sock`);
    rmSync(path, { force: true });
    const server = createServer((socket) => {
      let chunks: Buffer[] = [];
      let have = 0;
      let want = -1;
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        have += chunk.length;
        for (;;) {
          if (want < 0 && have >= 8) {
            const all = Buffer.concat(chunks);
            want = all.readDoubleLE(0);
            chunks = [all.subarray(8)];
            have -= 8;
          }
          if (want < 0 || have < want) return;
          const all = Buffer.concat(chunks);
          held(tableFromIPC(all.subarray(0, want)));
          chunks = [all.subarray(want)];
          have -= want;
          want = -1;
        }
      });
    });
    if (transport === "unix") server.listen(path, () => console.log(`ready ${path}`));
    else server.listen(0, "127.0.0.1", () => console.log(`ready ${(server.address() as { port: number }).port}`));
    break;
  }
  case "http-json": {
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      maxRequestBodySize: 2 ** 32,
      async fetch(request) {
        const { x, y } = (await request.json()) as { x: number[]; y: number[] };
        held(makeTable({ x: Float64Array.from(x), y: Int32Array.from(y) }));
        return new Response("ok");
      },
    });
    console.log(`ready ${server.port}`);
    break;
  }
  case "csv": {
    const go = openReader(`${tag}-go`);
    console.log("ready");
    for (let message = await go.recv({ timeoutMs: Infinity }); message; message = await go.recv({ timeoutMs: Infinity })) {
      const lines = readFileSync(new TextDecoder().decode(message.bytes), "utf8").split("\n");
      const rows = lines.length - 2; // header and the empty last line
      const x = new Float64Array(rows), y = new Int32Array(rows);
      for (let i = 0; i < rows; i++) {
        const line = lines[i + 1]!;
        const comma = line.indexOf(",");
        x[i] = Number.parseFloat(line.slice(0, comma));
        y[i] = Number.parseInt(line.slice(comma + 1), 10);
      }
      held(makeTable({ x, y }));
    }
    break;
  }
  case "zmq": {
    // One Arrow IPC stream per message (Bun only: it goes through bun:ffi).
    const path = join(tmpdir(), `${tag}.zmq`);
    const { pull } = await import("./zmq-pull.ts");
    pull(`ipc://${path}`, () => console.log(`ready ipc://${path}`), (bytes) => held(tableFromIPC(bytes)));
    break; // (pull never returns: the sender ends this process)
  }
  default:
    throw new Error(`unknown transport ${transport}`);
}

// The zmq group of `shmpipe bench`: the Arrow hand-off from Python, to a
// Python and to a TypeScript reader, through shmpipe beside what users pick
// instead: ZeroMQ (pyzmq, PUSH/PULL over ipc://, which the R–Python article
// this project answers recommends for task distribution) and a plain Unix
// socket, size by size in one run. Every case is handoff_sender.py; the
// readers are the other hand-off cases' own. Its figures join the main report.
import { join } from "node:path";
import { sizeLabel } from "./size-label.ts";
import { python, pythonBinding } from "../python.ts";

const KiB = 1024, MiB = 1 << 20, GiB = 1 << 30;
const TRANSPORTS = ["shm", "unix", "zmq"];
const ZMQ = "Arrow IPC over ZeroMQ (PUSH/PULL, ipc://)";

/** 1 KiB to 100 MiB, and 1 GiB without --quick. */
const sizes = (quick: boolean) => (quick ? [KiB, MiB, 100 * MiB] : [KiB, MiB, 100 * MiB, GiB]);

export function zmqCases(quick: boolean, root: string, bun: string): string[] {
  const here = join(root, "scripts/bench");
  const readers = { Python: `${python()} ${join(here, "handoff_reader.py")}`, TS: `${bun} ${join(here, "handoff-reader.ts")}` };
  // `env`, not a bare assignment: the command runs under taskset. A PYTHONPATH of the caller's is kept after the binding.
  const sender = `env PYTHONPATH=${pythonBinding}\${PYTHONPATH:+:$PYTHONPATH} ${python()} ${join(here, "handoff_sender.py")}`;
  const commands: string[] = [];
  for (const bytes of sizes(quick)) {
    // reps and warm-up rounds: fewer where one round takes long
    const shmRounds = bytes >= GiB ? "3 2" : bytes >= 100 * MiB ? "20 5" : "200 30";
    const socketRounds = bytes >= GiB ? "3 1" : bytes >= 100 * MiB ? "10 2" : bytes >= MiB ? "20 5" : "50 10";
    for (const [label, reader] of Object.entries(readers)) {
      for (const transport of TRANSPORTS) {
        commands.push(`${sender} ${transport} ${label} ${bytes} ${transport === "shm" ? shmRounds : socketRounds} -- ${reader}`);
      }
    }
  }
  return commands;
}

type Results = Map<string, { value: number; values?: number[] }>;

/**
 * The ratios for the main report: ZeroMQ and the Unix socket over shmpipe,
 * ZeroMQ over the Unix socket; each the ratio of the medians, and its
 * spread: the smallest and largest ratio of the two cases' values in one run.
 */
export function zmqRatios(results: Results): string[] {
  const lines: string[] = [];
  for (const size of sizes(false).map(sizeLabel)) {
    for (const label of ["Python", "TS"]) {
      const name = {
        zmq: `${ZMQ} Python->${label}, ${size} batch`,
        unix: `Arrow IPC over Unix socket Python->${label}, ${size} batch`,
        commit: `shmpipe Python->${label} commit -> usable, ${size} batch`,
        write: `shmpipe Python->${label} write -> usable, ${size} batch`,
      };
      const ratios: [string, string, string][] = [
        ["ZeroMQ ÷ shmpipe commit -> usable", name.zmq, name.commit],
        ["ZeroMQ ÷ shmpipe write -> usable", name.zmq, name.write],
        ["Unix socket ÷ shmpipe commit -> usable", name.unix, name.commit],
        ["ZeroMQ ÷ Unix socket", name.zmq, name.unix],
      ];
      for (const [what, over, under] of ratios) {
        const a = results.get(over), b = results.get(under);
        if (!a || !b) continue;
        const perRun = (a.values ?? []).map((value, run) => value / (b.values?.[run] ?? NaN)).filter(Number.isFinite);
        const spread = perRun.length ? ` (per run ${Math.min(...perRun).toFixed(2)} – ${Math.max(...perRun).toFixed(2)})` : "";
        lines.push(`| ${size} batch, Python->${label}: ${what} | ${(a.value / b.value).toFixed(2)}×${spread} |`);
      }
    }
  }
  return lines;
}

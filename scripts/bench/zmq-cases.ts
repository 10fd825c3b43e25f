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
    const socketRounds = bytes >= GiB ? "3 1" : bytes >= 100 * MiB ? "5 2" : bytes >= MiB ? "20 5" : "50 10";
    for (const [label, reader] of Object.entries(readers)) {
      for (const transport of TRANSPORTS) {
        commands.push(`${sender} ${transport} ${label} ${bytes} ${transport === "shm" ? shmRounds : socketRounds} -- ${reader}`);
      }
    }
  }
  return commands;
}

/** The ratios for the main report: ZeroMQ and the Unix socket over shmpipe, ZeroMQ over the Unix socket. */
export function zmqRatios(get: (name: string) => number): string[] {
  const lines: string[] = [];
  for (const size of sizes(false).map(sizeLabel)) {
    for (const label of ["Python", "TS"]) {
      const zmq = get(`${ZMQ} Python->${label}, ${size} batch`), unix = get(`Arrow IPC over Unix socket Python->${label}, ${size} batch`);
      const shm = { commit: get(`shmpipe Python->${label} commit -> usable, ${size} batch`), write: get(`shmpipe Python->${label} write -> usable, ${size} batch`) };
      const ratios: [string, number][] = [
        [`ZeroMQ ÷ shmpipe commit -> usable`, zmq / shm.commit],
        [`ZeroMQ ÷ shmpipe write -> usable`, zmq / shm.write],
        [`Unix socket ÷ shmpipe commit -> usable`, unix / shm.commit],
        [`ZeroMQ ÷ Unix socket`, zmq / unix],
      ];
      for (const [what, ratio] of ratios) if (Number.isFinite(ratio)) lines.push(`| ${size} batch, Python->${label}: ${what} | ${ratio.toFixed(2)}× |`);
    }
  }
  return lines;
}

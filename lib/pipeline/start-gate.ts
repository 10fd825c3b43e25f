// Fan-out without a race at start-up. A reader that attaches to a channel
// starts at the oldest record some reader still holds (docs/PROTOCOL.md,
// "Readers"): a reader stage that is slow to start (R takes half a second)
// would miss what the writer wrote meanwhile. So the runner attaches a
// reader of its own to each channel before any stage starts: it reads
// nothing and holds the ring at the first record, so every reader stage
// starts there too; a writer fills at most the ring before it waits. The
// runner lets go once every reader stage of the channel is attached (or
// has ended: the start-up is over either way).
//
// "Attached" is told from the channel's live readers, not from how many
// attaches there were (a stage may open, close and open again; a tool may
// look in): a process stage is attached when a live reader is in its
// process group (stages run in groups of their own, so a helper process
// of the stage counts), and the function stages together when the
// runner's own process holds as many readers besides the gate's.
import { readFileSync } from "node:fs";
import { openReader } from "../channel.ts";
import type { Reader } from "../reader.ts";
import type { ChannelStatFn } from "./stat.ts";

export interface GatedChannel {
  segment: string;
  /** The stages that read it: a process stage by its pid once started (null before), a function stage as "fn". */
  readers: { name: string; pid: () => number | null | "fn" }[];
}

const POLL_MS = 10;

/** The process group of `pid`, or null if it is gone. */
function groupOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]); // after the name: state, ppid, pgrp
  } catch {
    return null;
  }
}

export class StartGate {
  readonly #held = new Map<GatedChannel, Reader>();
  readonly #ended = new Set<string>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(channels: GatedChannel[], readonly stat: ChannelStatFn) {
    for (const channel of channels) this.#held.set(channel, openReader(channel.segment));
  }

  /** Checks the channels every few milliseconds until all are open. */
  start(): void {
    this.#timer = setInterval(() => this.#check(), POLL_MS);
  }

  /** A stage ended: it attaches to nothing any more. */
  stageEnded(stage: string): void {
    this.#ended.add(stage);
    this.#check();
  }

  /** Lets go of every channel. */
  close(): void {
    for (const reader of this.#held.values()) reader.close();
    this.#held.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #attached(channel: GatedChannel): boolean {
    const pids = this.stat(channel.segment)?.readerPids;
    if (!pids) return false;
    const groups = new Set(pids.map(groupOf));
    const waiting = channel.readers.filter((stage) => !this.#ended.has(stage.name));
    const functions = waiting.filter((stage) => stage.pid() === "fn").length;
    const mine = pids.filter((pid) => pid === process.pid).length - 1; // less the gate's own reader
    return mine >= functions && waiting.every((stage) => {
      const pid = stage.pid();
      return pid === "fn" || (pid !== null && groups.has(pid));
    });
  }

  #check(): void {
    for (const [channel, reader] of this.#held) {
      if (this.#attached(channel)) {
        reader.close();
        this.#held.delete(channel);
      }
    }
    if (this.#held.size === 0) this.close();
  }
}

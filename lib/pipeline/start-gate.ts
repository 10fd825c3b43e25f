// Fan-out without a race at start-up. A reader that attaches to a channel
// starts at the oldest record some reader still holds (docs/PROTOCOL.md,
// "Readers"): a reader stage that is slow to start (R takes half a second)
// would miss what the writer wrote meanwhile. So the runner attaches a
// reader of its own to each channel before any stage starts: it reads
// nothing and holds the ring at the first record, so every reader stage
// starts there too; a writer fills at most the ring before it waits. The
// runner lets go once every reader stage of the channel has attached (or
// every one has ended: the start-up is over either way).
import { openReader } from "../channel.ts";
import type { Reader } from "../reader.ts";
import type { ChannelStatFn } from "./stat.ts";

export interface GatedChannel {
  segment: string;
  /** Names of the stages that read it. */
  readers: string[];
}

const POLL_MS = 10;

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

  #check(): void {
    for (const [channel, reader] of this.#held) {
      // The stat counts every reader that ever attached, the runner's own included.
      const attached = (this.stat(channel.segment)?.readersAttached ?? 0) - 1;
      if (attached >= channel.readers.length || channel.readers.every((stage) => this.#ended.has(stage))) {
        reader.close();
        this.#held.delete(channel);
      }
    }
    if (this.#held.size === 0) this.close();
  }
}

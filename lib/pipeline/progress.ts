// Per channel: bytes (and records, when the stat source knows them) moved
// so far, and the rate since the last sample; a bar where the channel's
// expected records are known.
import type { Display } from "./display.ts";
import { bytes, count } from "./format.ts";
import type { ChannelStat, ChannelStatFn } from "./stat.ts";

export interface Watched {
  local: string;
  segment: string;
  expectedRecords?: number;
}

const BAR = 16;

/** "[######----------] 37%" for `done` of `total`. */
export function bar(done: number, total: number): string {
  const part = Math.min(1, done / total);
  const filled = Math.round(part * BAR);
  return `[${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${Math.floor(part * 100)}%`;
}

export class Progress {
  readonly #last = new Map<string, { stat: ChannelStat; at: number }>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly channels: Watched[], readonly stat: ChannelStatFn, readonly display: Display) {}

  /** Samples every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    if (this.channels.length === 0) return;
    this.#timer = setInterval(() => this.display.progress(this.line()), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.display.close();
  }

  /** One line: "ticks 1,200 records 4.5 MiB (2.1 MiB/s) | results ..." */
  line(now = performance.now()): string {
    const parts = this.channels.map(({ local, segment, expectedRecords }) => {
      const stat = this.stat(segment);
      if (!stat) return `${local} -`;
      const last = this.#last.get(segment);
      this.#last.set(segment, { stat, at: now });
      const rate = last && now > last.at ? ` (${bytes(Math.max(0, ((stat.bytes - last.stat.bytes) * 1000) / (now - last.at)))}/s)` : "";
      const records = stat.records === undefined ? "" : ` ${count(stat.records)} records`;
      const done = expectedRecords && stat.records !== undefined ? ` ${bar(stat.records, expectedRecords)}` : "";
      return `${local}${done}${records} ${bytes(stat.bytes)}${rate}`;
    });
    return `progress: ${parts.join(" | ")}`;
  }
}

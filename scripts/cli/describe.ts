// How a segment's snapshot reads on a terminal, and as JSON, for ls, stat
// and gc alike.
import type { SegmentStat, ShmpipeError } from "../../lib/index.ts";

export function peer(p: { pid: number; alive: boolean } | null): string {
  return p === null ? "-" : `${p.pid} ${p.alive ? "alive" : "dead"}`;
}

export function writer(s: SegmentStat): string {
  if (s.writer === null) return "none";
  return s.writer.closed ? `${s.writer.pid} closed` : peer(s.writer);
}

export function readers(s: SegmentStat): string {
  if (s.kind === "table") return "-";
  const alive = s.readers.filter((r) => r.alive).length;
  return `${alive}/${s.readers.length} alive`;
}

/** The state words: open/closed (channel), sealed/persistent (table), stale. */
export function state(s: SegmentStat): string {
  const words = s.kind === "table" ? ["sealed", ...(s.persistent ? ["persistent"] : [])] : [s.writer?.closed ? "closed" : "open"];
  if (s.stale) words.push("stale");
  return words.join(",");
}

export function inFlight(s: SegmentStat): string {
  return s.kind === "table" ? "-" : `${s.recordsInFlight} (${bytesShort(s.bytesInFlight)})`;
}

function bytesShort(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** An entry that could not be read, for JSON: the core's code and sentence. */
export function errorJson(name: string, error: ShmpipeError): { name: string; error: { code: string; message: string } } {
  return { name, error: { code: error.code, message: error.message } };
}

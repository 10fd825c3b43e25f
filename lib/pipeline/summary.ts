// What a run reports at its end, as data (run()'s result, PipelineError's
// summary) and as the lines printed after the run.
import { bytes, count, duration } from "./format.ts";
import { describeEnd, type Outcome, succeeded } from "./stage.ts";

export interface StageSummary {
  name: string;
  /** "go", "rscript", "python", "bun", "binary" or "fn". */
  kind: string;
  pid: number | null;
  outcome: Outcome;
  /** True if the runner stopped it (it did not end by itself). */
  stopped: boolean;
  outputs: string[];
}

export interface ChannelSummary {
  /** The local name ("ticks"). */
  name: string;
  /** The segment's name in this run. */
  segment: string;
  kind: "channel" | "table";
  /** Bytes published through it (null if unknown: a table, or no stat). */
  bytes: number | null;
  records: number | null;
}

export interface Summary {
  pipeline: string;
  wallMs: number;
  stages: StageSummary[];
  channels: ChannelSummary[];
  /** Every output file a stage reported. */
  outputs: { stage: string; path: string }[];
}

function stageLine(stage: StageSummary): string {
  const end = stage.stopped ? `stopped (${describeEnd(stage.outcome)})` : succeeded(stage.outcome) ? "ok" : describeEnd(stage.outcome);
  return `  ${stage.name.padEnd(14)} ${stage.kind.padEnd(8)} ${duration(stage.outcome.wallMs).padStart(9)}  ${end}`;
}

function channelLine(channel: ChannelSummary): string {
  if (channel.kind === "table") return `  ${channel.name.padEnd(14)} table    ${channel.segment}`;
  const volume = channel.bytes === null ? "-" : bytes(channel.bytes);
  const records = channel.records === null ? "" : `, ${count(channel.records)} records`;
  return `  ${channel.name.padEnd(14)} channel  ${volume}${records}`;
}

export function formatSummary(summary: Summary): string[] {
  const lines = [`pipeline ${summary.pipeline}: ${duration(summary.wallMs)}`, "stages:", ...summary.stages.map(stageLine)];
  if (summary.channels.length) lines.push("channels:", ...summary.channels.map(channelLine));
  if (summary.outputs.length) lines.push("outputs:", ...summary.outputs.map(({ stage, path }) => `  ${path} (${stage})`));
  return lines;
}

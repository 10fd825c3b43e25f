// The pipeline API: declare stages in Go, R, Python, Bun or as functions,
// and the channels and tables between them; run() does the rest
// (docs/PIPELINES.md).
export { type Channel, type Endpoint, type GoStageOptions, Pipeline, type PipelineOptions, type PythonStageOptions, type RStageOptions, type SharedTable, type StageOptions } from "./pipeline.ts";
export type { Tools } from "./runtimes.ts";
export type { RunOptions } from "./run.ts";
export type { StageContext, StageFunction } from "./fn-stage.ts";
export { PipelineError } from "./errors.ts";
export type { ChannelSummary, StageSummary, Summary } from "./summary.ts";
export type { ChannelStat, ChannelStatFn } from "./stat.ts";
export { CHANNEL_ENV_PREFIX, channelEnvVar, channelName } from "./names.ts";
export { OUTPUT_LINE, type Outcome } from "./stage.ts";

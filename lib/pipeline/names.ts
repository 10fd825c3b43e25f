// How a pipeline names things: the segment of each channel in one run, and
// the environment variable through which a stage learns it. The helpers in
// the other bindings (Python channel_name, Go ChannelName, R
// shm_channel_name) read the same variable: SHMPIPE_CHANNEL_ followed by the
// local name in upper case. Local names are checked here, by the runner, so
// that the helpers need no rule beyond upper-casing.

/** What every channel variable starts with. */
export const CHANNEL_ENV_PREFIX = "SHMPIPE_CHANNEL_";

/** Local names: a letter, then letters, digits or `_` (valid in a segment name and an environment variable alike). */
const LOCAL_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** The environment variable that carries channel `local`'s segment name to a stage. */
export function channelEnvVar(local: string): string {
  return CHANNEL_ENV_PREFIX + local.toUpperCase();
}

/** Throws unless `local` can name a channel or table of a pipeline. */
export function checkLocalName(local: string, what: string): void {
  if (typeof local !== "string" || !LOCAL_NAME.test(local)) {
    throw new TypeError(`shmpipe pipeline: ${what} name ${JSON.stringify(local)} must be a letter followed by up to 63 letters, digits or "_"`);
  }
}

/**
 * The segment name of channel `local` in this run: unique per process and
 * run, so that two runs (or two pipelines in one process) never meet.
 */
export function segmentName(pipeline: string, run: number, local: string): string {
  return `${pipeline}-${process.pid}${run > 1 ? `.${run}` : ""}-${local}`;
}

/**
 * In a stage: the segment name of channel (or published table) `local`,
 * which the pipeline passes in SHMPIPE_CHANNEL_<LOCAL>. Throws, naming the
 * variable, when the stage was not started by a pipeline that gives it one.
 */
export function channelName(local: string, env: Record<string, string | undefined> = process.env): string {
  const variable = channelEnvVar(local);
  const value = env[variable];
  if (!value) {
    throw new Error(`shmpipe: ${variable} is not set: this stage must be started by a shmpipe pipeline that gives it channel "${local}" (in the stage's reads or writes)`);
  }
  return value;
}

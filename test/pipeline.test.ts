// The pipeline runner with real stages in real processes: results, failures,
// crashes and signals, and after each case nothing left in /dev/shm and no
// stage process still running.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { channelName, NAME_PREFIX, openReader, openTable, Pipeline, PipelineError, type Summary } from "../lib/index.ts";
import { venvPython } from "../lib/pipeline/runtimes.ts";
import { spawnCli, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

const fixtures = new URL("./fixtures/pipeline/", import.meta.url).pathname;
// Go stages are built into a cache of this test file's own.
const cache = mkdtempSync(join(tmpdir(), "shmpipe-pipeline-cache-"));
process.env.SHMPIPE_CACHE_DIR = cache;
afterAll(() => rmSync(cache, { recursive: true, force: true }));

/** Segments in /dev/shm whose names start with the pipeline's. */
function segmentsOf(pipeline: string): string[] {
  return readdirSync("/dev/shm").filter((entry) => entry.startsWith(`${NAME_PREFIX}${pipeline}-`));
}

/** True if `pid` is a process that has not ended (a zombie has ended). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Nothing of the run is left: no segment with its prefix, no stage process. */
function expectNothingLeft(name: string, pids: number[]): void {
  expect(segmentsOf(name)).toEqual([]);
  expect(pids.filter(alive)).toEqual([]);
}

function stagePids(summary: Summary): number[] {
  return summary.stages.flatMap((stage) => (stage.pid === null ? [] : [stage.pid]));
}

/** A print sink that keeps the lines. */
function collect(): { lines: string[]; print: (line: string) => void } {
  const lines: string[] = [];
  return { lines, print: (line) => void lines.push(line) };
}

async function failureOf(run: Promise<unknown>): Promise<PipelineError> {
  try {
    await run;
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineError);
    return error as PipelineError;
  }
  throw new Error("expected the run to fail");
}

/** An fn stage summing the 8-byte numbers of channel "numbers". */
function summer(result: { sum: bigint; records: number }) {
  return async ({ channels }: { channels: Record<string, string> }) => {
    using reader = openReader(channels.numbers!);
    for await (const message of reader) {
      result.sum += new DataView(message.bytes.buffer, message.bytes.byteOffset, 8).getBigInt64(0, true);
      result.records++;
    }
  };
}

describe("channelName", () => {
  test("reads SHMPIPE_CHANNEL_<NAME>, and says which variable is missing", () => {
    expect(channelName("raw_ticks", { SHMPIPE_CHANNEL_RAW_TICKS: "p-1-raw_ticks" })).toBe("p-1-raw_ticks");
    expect(() => channelName("ticks", {})).toThrow('SHMPIPE_CHANNEL_TICKS is not set: this stage must be started by a shmpipe pipeline that gives it channel "ticks"');
  });
});

describe("declaring", () => {
  test("a channel without a writer, or with two, is refused before anything starts", () => {
    const p = new Pipeline(uniqueName("shape"));
    const numbers = p.channel("numbers");
    p.fn("a", () => {}, { reads: [numbers] });
    expect(p.run()).rejects.toThrow('channel "numbers" needs exactly one stage that writes it, has none');
    p.fn("b", () => {}, { writes: [numbers] }).fn("c", () => {}, { writes: [numbers] });
    expect(p.run()).rejects.toThrow("has b, c");
    expect(() => p.channel("NUMBERS")).toThrow("declared twice");
    expect(() => p.channel("bad-name")).toThrow("must be a letter");
  });
});

describe("running", () => {
  test("Python and Go writers, a Bun script and a function reading: every record arrives, fanned out", async () => {
    const name = uniqueName("xlang");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers", { capacity: 1 << 16 });
    const more = p.channel("more", { capacity: 1 << 16 });
    const fromPython = { sum: 0n, records: 0 }, fromGo = { sum: 0n, records: 0 };
    p.python("py-writer", "write_numbers.py", { args: ["20000"], writes: [numbers] });
    p.bun("counter", "count-reader.ts", { args: ["{numbers}"], reads: [numbers] });
    p.fn("py-sum", summer(fromPython), { reads: [numbers] });
    p.rscript("r-sum", "count_reader.R", { reads: [numbers] });
    p.go("go-writer", "./go-numbers", { args: ["5000", "more"], writes: [more] });
    p.fn("go-sum", async ({ channels, output }) => {
      await summer(fromGo)({ channels: { numbers: channels.more! } });
      output("/tmp/go-sum.txt");
    }, { reads: [more] });
    const { lines, print } = collect();
    const summary = await p.run({ quiet: true, print });

    expect(fromPython).toEqual({ sum: 20000n * 20001n / 2n, records: 20000 });
    expect(fromGo).toEqual({ sum: 5000n * 5001n / 2n, records: 5000 });
    expect(lines).toContain("[counter] read 20000 records");
    expect(lines).toContain(`[counter] channel ${summary.channels[0]!.segment}`); // {numbers} in args
    expect(lines).toContain("[go-writer] wrote 5000 numbers");
    expect(lines).toContain("[r-sum] R read 20000 records, sum 200010000");
    expect(summary.stages.map((stage) => [stage.name, stage.outcome.status, stage.stopped])).toEqual([
      ["py-writer", 0, false], ["counter", 0, false], ["py-sum", 0, false], ["r-sum", 0, false], ["go-writer", 0, false], ["go-sum", 0, false],
    ]);
    expect(summary.channels.map((channel) => [channel.name, channel.segment])).toEqual([["numbers", `${name}-${process.pid}-numbers`], ["more", `${name}-${process.pid}-more`]]);
    expect(summary.channels[0]!.bytes).toBe(20000 * 128); // a 64-byte header and 8 bytes padded to 64, each
    expect(summary.outputs).toEqual([{ stage: "go-sum", path: "/tmp/go-sum.txt" }]);
    expectNothingLeft(name, stagePids(summary));
  }, 60_000);

  test("a writer that finishes before its reader attached loses nothing", async () => {
    const name = uniqueName("early");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers", { capacity: 1 << 16 });
    const result = { sum: 0n, records: 0 };
    let writerDone: () => void;
    const done = new Promise<void>((resolve) => (writerDone = resolve));
    p.python("writer", "write_numbers.py", { args: ["300"], writes: [numbers] });
    p.fn("late", async (context) => {
      await done; // the writer has closed and its process is gone
      await summer(result)(context);
    }, { reads: [numbers] });
    const summary = await p.run({ quiet: true, print: (line) => line === "[writer] wrote 300 numbers" && setTimeout(() => writerDone(), 200) });
    expect(result).toEqual({ sum: 300n * 301n / 2n, records: 300 });
    expectNothingLeft(name, stagePids(summary));
  });
  test("the start gate waits for every reader stage, not for a number of attaches", async () => {
    // One reader looks first (attaches twice), the other starts late: both get every record.
    const name = uniqueName("gate");
    const p = new Pipeline(name, { cwd: fixtures });
    const t = p.channel("t", { capacity: 4096 });
    p.bun("writer", "gate-writer.ts", { writes: [t] });
    p.bun("peeker", "gate-reader.ts", { args: ["peek"], reads: [t] });
    p.bun("late", "gate-reader.ts", { args: ["slow"], reads: [t] });
    const { lines, print } = collect();
    const summary = await p.run({ quiet: true, print });
    expect(lines.sort()).toEqual(["[late] read 500", "[peeker] read 500"]);
    expectNothingLeft(name, stagePids(summary));
  });

  test("quiet: no progress and no summary, only the stages' lines", async () => {
    const name = uniqueName("quiet");
    const p = new Pipeline(name, { cwd: fixtures });
    const t = p.channel("t", { capacity: 4096 });
    p.bun("writer", "gate-writer.ts", { writes: [t] });
    p.bun("reader", "gate-reader.ts", { args: ["slow"], reads: [t] });
    const { lines, print } = collect();
    await p.run({ quiet: true, progressIntervalMs: 5, print });
    expect(lines).toEqual(["[reader] read 500"]);
  });

  test("a printer that throws loses its lines, not the run: every stage ends, nothing is left", async () => {
    const name = uniqueName("printer");
    const p = new Pipeline(name, { cwd: fixtures });
    const t = p.channel("t", { capacity: 4096 });
    p.bun("writer", "gate-writer.ts", { writes: [t] });
    p.bun("reader", "gate-reader.ts", { reads: [t] });
    const summary = await p.run({ quiet: true, print: () => { throw new Error("a broken pipe"); } });
    expect(summary.stages.map((stage) => stage.outcome.status)).toEqual([0, 0]);
    expectNothingLeft(name, stagePids(summary));
  });
});

describe("published tables", () => {
  test("a stage publishes a table, another opens it by name; the run removes it", async () => {
    const name = uniqueName("table");
    const p = new Pipeline(name, { cwd: fixtures });
    const squares = p.table("squares");
    let total = 0;
    p.python("publisher", "publish_table.py", { writes: [squares] });
    p.fn("user", ({ channels }) => {
      const table = openTable(channels.squares!, { waitMs: 10_000 });
      for (const value of table.getChild("square")!) total += Number(value);
    }, { reads: [squares] });
    const summary = await p.run({ quiet: true, print: () => {} });
    expect(total).toBe((100 * 101 * 201) / 6);
    expect(summary.channels).toEqual([{ name: "squares", segment: `${name}-${process.pid}-squares`, kind: "table", bytes: null, records: null }]);
    expectNothingLeft(name, stagePids(summary));
  });
});

describe("failures", () => {
  test("a failing stage: the error names it, its status and stderr tail; the others are stopped", async () => {
    const name = uniqueName("fail");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers", { capacity: 4096 });
    p.python("waiter", "wait-forever.py", { writes: [numbers] });
    p.bun("reader", "count-reader.ts", { reads: [numbers] });
    p.python("broken", "fail.py");
    const started = performance.now();
    const error = await failureOf(p.run({ quiet: true, print: () => {} }));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error.stage).toBe("broken");
    expect(error.status).toBe(3);
    expect(error.message).toContain('stage "broken" (python fail.py) exited with status 3; stopped waiter, reader');
    expect(error.message).toContain("| something broke: no such symbol ZZZ");
    expect(error.stderrTail).toEqual(["reading the configuration", "something broke: no such symbol ZZZ"]);
    const summary = error.summary!;
    expect(summary.stages.filter((stage) => stage.stopped).map((stage) => stage.name)).toEqual(["waiter", "reader"]);
    expectNothingLeft(name, stagePids(summary));
  });

  test("an uncaught PipelineError prints its sentence, not the library's source or stack", async () => {
    const name = uniqueName("bare");
    const child = spawnFixture("pipeline/bare-run.ts", [name]);
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    expect(code).toBe(1);
    expect(stderr).toContain(`PipelineError: pipeline ${name}: stage "broken" (python fail.py) exited with status 3; no other stage was running`);
    expect(stderr).toContain("  | something broke: no such symbol ZZZ");
    expect(stderr).not.toContain("lib/pipeline");
    expect(stderr).not.toMatch(/^ +at /m); // no stack frames
    expect(stderr).not.toMatch(/^\d+ \| /m); // no source lines
    expect(segmentsOf(name)).toEqual([]);
  });

  test("a stage that creates a channel the runner made is told that a stage opens its channels", async () => {
    const name = uniqueName("creates");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers", { capacity: 4096 });
    p.python("creator", "creates-its-channel.py", { writes: [numbers] });
    p.fn("reader", async ({ channels }) => {
      using reader = openReader(channels.numbers!);
      for await (const _ of reader);
    }, { reads: [numbers] });
    const error = await failureOf(p.run({ quiet: true, print: () => {} }));
    const tail = error.stderrTail.join("\n");
    expect(tail).toContain(`create on segment "${name}-${process.pid}-numbers" failed: File exists [EEXIST]. It is a channel of the pipeline that started this process (SHMPIPE_CHANNEL_NUMBERS), created by its runner (pid ${process.pid}). A pipeline stage opens its channels (open_writer, open_reader): the runner created them`);
    expect(tail).not.toContain("Pick another name");
    expectNothingLeft(name, stagePids(error.summary!));
  });

  test("a stage killed by SIGKILL fails the run, naming the signal", async () => {
    const name = uniqueName("crash");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers", { capacity: 4096 });
    p.python("crasher", "crash.py", { writes: [numbers] });
    p.bun("reader", "count-reader.ts", { reads: [numbers] });
    const error = await failureOf(p.run({ quiet: true, print: () => {} }));
    expect(error.stage).toBe("crasher");
    expect(error.signal).toBe("SIGKILL");
    expect(error.status).toBeNull();
    expect(error.message).toContain('stage "crasher" (python crash.py) was killed by SIGKILL');
    expect(error.message).toContain("| about to crash");
    expectNothingLeft(name, stagePids(error.summary!));
  });

  test("a reader that stops reading: its writer fails, and the error says the readers had ended", async () => {
    const name = uniqueName("stops");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers", { capacity: 4096 });
    p.python("writer", "write_numbers.py", { args: ["100000"], writes: [numbers] });
    p.bun("quitter", "read-one.ts", { reads: [numbers] });
    const error = await failureOf(p.run({ quiet: true, print: () => {} }));
    expect(error.stage).toBe("writer");
    expect(error.message).toContain('(the readers of "numbers" (quitter) had ended before it: a stage that stops reading ends its writer\'s stream)');
    expect(error.summary!.stages.map((stage) => [stage.name, stage.outcome.status])).toEqual([["writer", 1], ["quitter", 0]]);
    expectNothingLeft(name, stagePids(error.summary!));
  });

  test("a function stage that throws fails the run with its error", async () => {
    const name = uniqueName("throw");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers", { capacity: 4096 });
    p.python("waiter", "wait-forever.py", { writes: [numbers] });
    p.fn("checker", async () => {
      await Bun.sleep(100);
      throw new Error("the totals do not match");
    }, { reads: [numbers] });
    const error = await failureOf(p.run({ quiet: true, print: () => {} }));
    expect(error.message).toContain('stage "checker" (fn) threw Error: the totals do not match; stopped waiter');
    expectNothingLeft(name, stagePids(error.summary!));
  });

  test("a Go package that does not build: nothing starts, nothing is created", async () => {
    const name = uniqueName("nobuild");
    const p = new Pipeline(name, { cwd: fixtures });
    const numbers = p.channel("numbers");
    p.go("producer", "./no-such-package", { writes: [numbers] });
    p.fn("reader", () => {}, { reads: [numbers] });
    const error = await failureOf(p.run({ quiet: true }));
    expect(error.message).toContain('stage "producer": go build ./no-such-package failed; nothing was started');
    expect(error.message).toContain(`| no such package directory: ${fixtures}no-such-package`);
    expect(segmentsOf(name)).toEqual([]);
  }, 60_000);
});

describe("which interpreter runs a stage", () => {
  /** `dir`/bin/python: an interpreter of its own path (a link to the project's). */
  function interpreterIn(dir: string): string {
    mkdirSync(join(dir, "bin"), { recursive: true });
    symlinkSync(venvPython, join(dir, "bin/python"));
    return join(dir, "bin/python");
  }

  test("the stage's python option, else the pipeline's, else VIRTUAL_ENV's python", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shmpipe-interpreters-"));
    const saved = process.env.VIRTUAL_ENV;
    try {
      const [own, shared, active] = ["own", "shared", "active"].map((name) => interpreterIn(join(dir, name)));
      const name = uniqueName("python-option");
      const p = new Pipeline(name, { cwd: fixtures, python: shared });
      p.python("own", "which-python.py", { python: join(dir, "own/bin/python") });
      p.python("shared", "which-python.py");
      const { lines, print } = collect();
      await p.run({ quiet: true, print });
      expect(lines.sort()).toEqual([`[own] python ${own}`, `[shared] python ${shared}`]);

      process.env.VIRTUAL_ENV = join(dir, "active");
      const q = new Pipeline(uniqueName("virtual-env"), { cwd: fixtures });
      q.python("active", "which-python.py");
      const seen = collect();
      await q.run({ quiet: true, print: seen.print });
      expect(seen.lines).toEqual([`[active] python ${active}`]);
      expect(segmentsOf(name)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.VIRTUAL_ENV;
      else process.env.VIRTUAL_ENV = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an interpreter that lacks a module, or cannot start: the error names it, where it came from, and how to choose another", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shmpipe-interpreters-"));
    const saved = process.env.VIRTUAL_ENV;
    try {
      const python = interpreterIn(join(dir, "env"));
      const p = new Pipeline(uniqueName("no-module"), { cwd: fixtures });
      p.python("needy", "needs-module.py", { python });
      const missing = await failureOf(p.run({ quiet: true, print: () => {} }));
      expect(missing.message).toContain(`its interpreter was ${python} (from the stage's python option), which has no module "shmpipe_test_absent_module": choose another with the python option of the stage or of the pipeline (new Pipeline(name, { python: "/path/to/venv/bin/python" })), or activate a virtual environment (VIRTUAL_ENV)`);

      process.env.VIRTUAL_ENV = join(dir, "no-such-env");
      const q = new Pipeline(uniqueName("no-python"), { cwd: fixtures });
      q.python("lost", "which-python.py");
      const absent = await failureOf(q.run({ quiet: true, print: () => {} }));
      expect(absent.message).toContain(`its interpreter was ${dir}/no-such-env/bin/python (from the activated virtual environment, VIRTUAL_ENV): choose another with the python option`);

      delete process.env.VIRTUAL_ENV;
      const lacking = new Pipeline(uniqueName("no-package"), { cwd: fixtures });
      lacking.rscript("needy", "needs-package.R");
      const noPackage = await failureOf(lacking.run({ quiet: true, print: () => {} }));
      expect(noPackage.message).toContain(`its interpreter was Rscript (${Bun.which("Rscript")}, from PATH), which has no package "shmpipetestabsentpackage": choose another with the rscript option of the stage or of the pipeline`);

      const r = new Pipeline(uniqueName("no-rscript"), { cwd: fixtures, rscript: "no-such-Rscript" });
      r.rscript("counter", "count_reader.R");
      const noR = await failureOf(r.run({ quiet: true, print: () => {} }));
      expect(noR.message).toContain("its interpreter was no-such-Rscript (not found on PATH): choose another with the rscript option of the stage or of the pipeline");
    } finally {
      if (saved === undefined) delete process.env.VIRTUAL_ENV;
      else process.env.VIRTUAL_ENV = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the go option picks the toolchain that builds Go stages, and a missing one is named", async () => {
    const p = new Pipeline(uniqueName("no-go"), { cwd: fixtures });
    const numbers = p.channel("numbers");
    p.go("producer", "./go-numbers", { writes: [numbers], go: "/nonexistent/go" });
    p.fn("reader", () => {}, { reads: [numbers] });
    const error = await failureOf(p.run({ quiet: true }));
    expect(error.message).toContain("could not run /nonexistent/go (from the stage's go option) (Go 1.25 or later is needed)");
    expect(error.message).toContain("choose another with the go option of the stage or of the pipeline");
  });
});

describe("signals to the runner", () => {
  /** Starts test/fixtures/pipeline/endless.ts (through `shmpipe run` if `cli`) and waits until both its stages run. */
  async function startEndless(grace: number, ignoreTerm: boolean, { cli = false, loud = false } = {}) {
    const name = uniqueName("signal");
    const args = [name, String(grace), ...(ignoreTerm ? ["--ignore-term"] : []), ...(loud ? ["--loud"] : [])];
    const child = cli ? spawnCli(["run", `${fixtures}endless.ts`, ...args]) : spawnFixture("pipeline/endless.ts", args);
    const pids: number[] = [];
    for (let i = 0; i < 2; i++) pids.push(Number((await waitForLine(child, (line) => / pid \d+$/.test(line))).split(" pid ")[1]));
    await waitForLine(child, (line) => line === "ready");
    expect(segmentsOf(name)).toHaveLength(1);
    return { name, child, pids };
  }

  async function ended(child: ReturnType<typeof spawnFixture>) {
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    return { code, stderr: stderr.trim() };
  }

  test("Ctrl-C once: the stages are stopped gracefully, one line, exit 130", async () => {
    const { name, child, pids } = await startEndless(5000, false);
    const started = performance.now();
    child.kill("SIGINT");
    const { code, stderr } = await ended(child);
    expect(code).toBe(130);
    expect(stderr).toBe(`shmpipe: SIGINT: stopped pipeline ${name} (stages waiter, reader); removed its segment`);
    expect(performance.now() - started).toBeLessThan(4000); // SIGTERM was enough: no wait for the grace period
    expectNothingLeft(name, pids);
  });

  test("Ctrl-C to `shmpipe run` of a pipeline that is not quiet: one line on stderr, exit 130", async () => {
    const { name, child, pids } = await startEndless(5000, false, { cli: true, loud: true });
    child.kill("SIGINT");
    const { code, stderr } = await ended(child);
    expect(code).toBe(130);
    expect(stderr.split("\n")).toEqual([`shmpipe: SIGINT: stopped pipeline ${name} (stages waiter, reader); removed its segment`]);
    expectNothingLeft(name, pids);
  });

  test("Ctrl-C twice: a stage that ignores SIGTERM is killed at once", async () => {
    const { name, child, pids } = await startEndless(30_000, true);
    const started = performance.now();
    child.kill("SIGINT");
    await Bun.sleep(300);
    expect(alive(pids[0]!)).toBe(true); // it ignores SIGTERM; the grace period is 30 s
    child.kill("SIGINT");
    const { code, stderr } = await ended(child);
    expect(code).toBe(130);
    expect(stderr.split("\n")).toEqual([`shmpipe: SIGINT: stopped pipeline ${name} (stages waiter, reader); removed its segment`]);
    expect(performance.now() - started).toBeLessThan(5000);
    expectNothingLeft(name, pids);
  });

  test("SIGTERM: the same, exit 143", async () => {
    const { name, child, pids } = await startEndless(5000, false);
    child.kill("SIGTERM");
    const { code, stderr } = await ended(child);
    expect(code).toBe(143);
    expect(stderr).toStartWith("shmpipe: SIGTERM: stopped pipeline");
    expectNothingLeft(name, pids);
  });
});

// The README's first command, `npm run demo`, is `shmpipe demo`: the main
// example (test/examples.test.ts runs it directly too), through the command.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = new URL("../scripts/shmpipe.ts", import.meta.url).pathname;

test("shmpipe demo runs the main example and its check passes", () => {
  const out = mkdtempSync(join(tmpdir(), "shmpipe-demo-"));
  try {
    const run = Bun.spawnSync([process.execPath, cli, "demo", "--rows", "100000", "--out", out, "--quiet"], { stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.exitCode, output).toBe(0);
    expect(output).toContain("check: R's ticks, mean prices and VWAPs for 20 symbols and Python's rows and price sum agree with the producer's own sums.");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);

test("shmpipe demo --help describes the main example", () => {
  const run = Bun.spawnSync([process.execPath, cli, "demo", "--help"], { stdout: "pipe", stderr: "pipe" });
  expect(run.exitCode).toBe(0);
  expect(run.stdout.toString()).toContain("usage: shmpipe demo [--rows N] [--out DIR] [--quiet] [--r-elsewhere]");
});

test("the byte-record demo still runs", () => {
  const run = Bun.spawnSync([process.execPath, cli, "demo", "--bytes", "--records", "20000"], { stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toContain("received 20,000 records (0 out of order)");
});

test("a wrong option to the demo is one line and the usage, exit status 2, no stack trace", () => {
  for (const args of [["--rows", "-5"], ["--rowz", "10"], ["extra"], ["--rows", "abc"]]) {
    const run = Bun.spawnSync([process.execPath, cli, "demo", ...args], { stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.toString().trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe("usage: shmpipe demo [--rows N] [--out DIR] [--quiet] [--r-elsewhere]");
  }
});

// --r-elsewhere: R on "another machine" (a mount namespace with its own
// /dev/shm, examples/market/elsewhere.sh), over Arrow Flight. Every process
// of a run carries a mark in its environment, so that none can outlive it
// unseen; the other machine's names ("ticks", "results") must never be
// this machine's.

/** Processes (pids) whose environment holds `mark`. */
function marked(mark: string): number[] {
  return readdirSync("/proc").filter((entry) => /^\d+$/.test(entry) && isMarked(entry, mark)).map(Number);
}

const theirs = () => readdirSync("/dev/shm").filter((entry) => entry === "shmpipe.ticks" || entry === "shmpipe.results");

/** True if process `pid` carries `mark` in its environment. */
function isMarked(pid: string, mark: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").includes(mark);
  } catch {
    return false; // gone meanwhile
  }
}

/** The pid of R on the other machine, once it runs. */
function rOf(mark: string): number | undefined {
  return marked(mark).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("stats.R");
    } catch {
      return false;
    }
  });
}

/**
 * Runs the demo with R elsewhere, watching both machines' /dev/shm while it
 * runs: this one's, and the other's through its R (/proc/PID/root).
 */
function elsewhere(out: string, rows: number, mark: string) {
  const child = Bun.spawn([process.execPath, cli, "demo", "--r-elsewhere", "--rows", String(rows), "--out", out], {
    stdout: "pipe", stderr: "pipe", env: { ...process.env, SHMPIPE_TEST_MARK: mark },
  });
  const seen = new Set<string>();
  const there = new Set<string>();
  const local = new Set<string>(); // the run's own names here, market-<its pid>-…
  let r: number | undefined;
  const watch = setInterval(() => {
    theirs().forEach((name) => seen.add(name));
    for (const name of readdirSync("/dev/shm")) {
      const pid = /^shmpipe\.market-(\d+)-/.exec(name)?.[1];
      if (pid && !local.has(name) && isMarked(pid, mark)) local.add(name);
    }
    r ??= rOf(mark);
    try {
      if (r) readdirSync(`/proc/${r}/root/dev/shm`).forEach((name) => there.add(name));
    } catch {
      // R ended meanwhile
    }
  }, 10);
  let output = "";
  const read = (stream: ReadableStream<Uint8Array>) => (async () => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  })();
  const done = Promise.all([child.exited, read(child.stdout), read(child.stderr)]).then(([code]) => {
    clearInterval(watch);
    return { code, output, seen: [...seen] };
  });
  return { child, done, output: () => output, there, local };
}

/** Waits until the ticks are crossing: the channel the server writes them into exists on the other machine. */
async function untilCrossing(run: ReturnType<typeof elsewhere>): Promise<void> {
  for (const deadline = Date.now() + 60_000; !run.there.has("shmpipe.ticks");) {
    if (Date.now() > deadline) throw new Error(`the ticks never reached the other machine:\n${run.output()}`);
    await Bun.sleep(10);
  }
}

/**
 * Runs the demo with R elsewhere (`rows` ticks) in a fresh output
 * directory, lets `during` act on it while it runs, hands the outcome to
 * `check`, then asserts what every run must leave: no name of ours seen on
 * the other machine, no process of the run, none of its names here.
 */
async function withElsewhere(
  label: string,
  rows: number,
  during: (run: ReturnType<typeof elsewhere>, mark: string) => Promise<void>,
  check: (outcome: { code: number; output: string }, run: ReturnType<typeof elsewhere>) => void,
): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), "shmpipe-demo-"));
  const mark = `elsewhere-${process.pid}-${label}`;
  try {
    const run = elsewhere(out, rows, mark);
    await during(run, mark);
    const { code, output, seen } = await run.done;
    check({ code, output }, run);
    expect(seen).toEqual([]);
    expect(marked(mark)).toEqual([]);
    expect([...run.local].filter((name) => existsSync(`/dev/shm/${name}`))).toEqual([]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

test("shmpipe demo --r-elsewhere: R on the other machine over Flight, the same check passes, nothing shared, nothing left", async () => {
  await withElsewhere("ok", 100_000, async () => {}, ({ code, output }, run) => {
    expect(code, output).toBe(0);
    expect(output).toContain("check: R's ticks, mean prices and VWAPs for 20 symbols and Python's rows and price sum agree with the producer's own sums.");
    // R ran there, on what crossed: the server's logs and R's own line, from the other machine.
    expect(output).toMatch(/\[elsewhere\] listening on grpc:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/\[elsewhere\] shmpipe flight serve: DoPut ticks from 127\.0\.0\.1:\d+: 100,000 rows/);
    expect(output).toMatch(/\[elsewhere\] read \d+ batches, 100000 ticks/);
    expect(output).toMatch(/send +go .* ok\n +fetch +go .* ok\n +elsewhere +fn .* ok/);
    // R's results were there, in the other machine's /dev/shm (the ticks too,
    // briefly: the server's line above), never here; here, the run's own.
    expect(run.there.has("shmpipe.results")).toBe(true);
    expect(run.local.size).toBe(2);
  });
}, 120_000);

test("shmpipe demo --r-elsewhere, Ctrl-C mid-run: it stops, and no process or name is left on either machine", async () => {
  await withElsewhere("int", 3_000_000, async (run) => {
    await untilCrossing(run);
    run.child.kill("SIGINT");
  }, ({ code, output }) => {
    expect(code, output).toBe(130);
    expect(output).toContain("shmpipe: SIGINT: stopped pipeline market");
    expect(output).not.toContain("check:");
  });
}, 120_000);

test("shmpipe demo --r-elsewhere, R killed on the other machine: the run fails naming it, nothing is left", async () => {
  await withElsewhere("kill", 3_000_000, async (run, mark) => {
    await untilCrossing(run);
    process.kill(rOf(mark)!, "SIGKILL");
  }, ({ code, output }) => {
    expect(code, output).toBe(1);
    expect(output).toContain(`pipeline market: stage "elsewhere" (fn)`);
    expect(output).toContain("R on the other machine ended with SIGKILL");
  });
}, 120_000);

// The shmpipe command with real processes: channels and tables made by
// writers in other processes, looked at, listed, collected, printed and
// removed by `bun scripts/shmpipe.ts ...`, as a user runs it.
import { afterEach, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { shmPath, type SegmentStat } from "../lib/index.ts";
import { cliBytes, cliJson } from "./fixtures/cli-data.ts";
import { finished, spawnCli, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

type Result = { code: number; out: string; err: string };

async function shmpipe(...args: string[]): Promise<Result> {
  const child = spawnCli(args);
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, out, err };
}

/** What a failure must look like: one line on stderr, no stack trace, a non-zero status. */
function oneErrorLine(result: Result, pattern: RegExp): void {
  expect(result.code).not.toBe(0);
  expect(result.err.trim().split("\n")).toHaveLength(1);
  expect(result.err).toMatch(pattern);
  expect(result.err).not.toMatch(/^\s+at /m);
}

const running: Subprocess[] = [];
const garbage: string[] = [];

/** A child of fixtures/cli-segments.ts that has made its segment. */
async function segment(...args: string[]) {
  const child = spawnFixture("cli-segments.ts", args);
  running.push(child);
  await waitForLine(child, (line) => line === "ready");
  return child;
}

afterEach(async () => {
  // SIGTERM: a live creator removes its names on the way out.
  for (const child of running.splice(0)) {
    child.kill("SIGTERM");
    await child.exited;
  }
  for (const path of garbage.splice(0)) rmSync(path, { force: true });
});

test("no arguments prints the help and fails; --help and every command's --help succeed", async () => {
  const bare = await shmpipe();
  expect(bare.code).toBe(2);
  expect(bare.err).toContain("usage: shmpipe <command>");
  const help = await shmpipe("--help");
  expect(help.code).toBe(0);
  for (const command of ["ls", "stat", "cat", "rm", "gc", "run", "unpublish", "demo", "bench"]) expect(help.out).toContain(`  ${command} `);
  for (const command of ["ls", "stat", "cat", "rm", "gc", "run", "unpublish"]) {
    const result = await shmpipe(command, "--help");
    expect([command, result.code, result.out]).toEqual([command, 0, expect.stringContaining(`usage: shmpipe ${command}`)]);
  }
  oneErrorLine(await shmpipe("frobnicate"), /^shmpipe: unknown command "frobnicate"/);
  oneErrorLine(await shmpipe("ls", "--bogus"), /^shmpipe ls: Unknown option '--bogus'/);
  oneErrorLine(await shmpipe("stat"), /^shmpipe stat: stat takes one NAME/);
  oneErrorLine(await shmpipe("cat", "x", "--format", "xml"), /--format is one of table, jsonl, csv/);
});

test("stat and ls show a live channel's creator, writer, reader and records in flight", async () => {
  const name = uniqueName("cli-live");
  const writer = await segment("channel", name, "5");
  const reader = spawnFixture("idle-reader.ts", [name]); // attaches and never reads
  running.push(reader);
  await waitForLine(reader, (line) => line === "ready");

  const result = await shmpipe("stat", name, "--json");
  expect(result.code).toBe(0);
  const s = JSON.parse(result.out) as SegmentStat;
  expect(s).toMatchObject({
    name, kind: "channel", capacity: 64 << 10, size: 4096 + (64 << 10),
    creator: { pid: writer.pid, uid: process.getuid!(), alive: true },
    writer: { pid: writer.pid, alive: true, closed: false },
    readers: [{ pid: reader.pid, alive: true }],
    readersEver: 1, committedRecords: 5, committedBytes: 5 * 128, recordsInFlight: 5, bytesInFlight: 5 * 128,
    sealed: false, persistent: false, stale: false,
  });

  const text = await shmpipe("stat", name);
  expect(text.out).toContain(`creator:   ${writer.pid} alive, uid ${process.getuid!()}`);
  expect(text.out).toContain("in flight: 5 records, 640 B");

  const listed = await shmpipe("ls", "--json", "--prefix", name);
  expect(JSON.parse(listed.out)).toEqual([s]);
  const table = await shmpipe("ls", "--prefix", name);
  const row = table.out.split("\n").find((line) => line.startsWith(name))!;
  expect(row.split(/\s{2,}/)).toEqual([name, "channel", "68.0 KiB", String(process.getuid!()), `${writer.pid} alive`, `${writer.pid} alive`, "1/1 alive", "5", "5 (640 B)", "open"]);

  // Looking changed nothing: no reader was added, nothing was read.
  expect(JSON.parse((await shmpipe("stat", name, "--json")).out)).toMatchObject({ readersEver: 1, recordsInFlight: 5 });
});

test("gc removes a dead creator's channel and keeps live channels and persistent tables", async () => {
  const prefix = uniqueName("gc");
  const dead = `${prefix}-dead`, live = `${prefix}-live`, kept = `${prefix}-kept`;
  const victim = await segment("channel", dead, "3");
  victim.kill("SIGKILL"); // no chance to remove its name
  await victim.exited;
  await segment("channel", live, "1");
  const publisher = spawnFixture("table-publish.ts", [kept]); // publishes to persist and exits
  await publisher.exited;
  try {
    const dry = await shmpipe("gc", "--dry-run", "--json", "--prefix", prefix);
    expect(dry.code).toBe(0);
    expect((JSON.parse(dry.out) as SegmentStat[]).map((s) => [s.name, s.stale, s.creator.alive, s.recordsInFlight])).toEqual([[dead, true, false, 3]]);
    expect(existsSync(shmPath(dead))).toBe(true);

    const ls = JSON.parse((await shmpipe("ls", "--json", "--prefix", prefix)).out) as SegmentStat[];
    expect(ls.map((s) => [s.name, s.kind, s.stale, s.persistent])).toEqual([[dead, "channel", true, false], [kept, "table", false, true], [live, "channel", false, false]]);

    const text = await shmpipe("gc", "--prefix", prefix);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`removed ${dead} (channel, 68.0 KiB, 3 records unread; creator pid ${victim.pid} exited)`);
    expect(text.out).toContain("gc: removed 1 stale segment");
    expect([existsSync(shmPath(dead)), existsSync(shmPath(live)), existsSync(shmPath(kept))]).toEqual([false, true, true]);
    expect((await shmpipe("gc", "--prefix", prefix)).out).toContain("gc: nothing stale");
  } finally {
    expect((await shmpipe("unpublish", kept)).code).toBe(0);
  }
});

test("cat prints a published table in each format, with the values written, and leaves it as it was", async () => {
  const name = uniqueName("cli-table");
  await segment("table", name);
  const before = (await shmpipe("stat", name, "--json")).out;

  const jsonl = await shmpipe("cat", name, "--format", "jsonl");
  expect(jsonl.code).toBe(0);
  expect(jsonl.out.trim().split("\n").map((line) => JSON.parse(line))).toEqual(cliJson);

  const csv = await shmpipe("cat", name, "--format", "csv");
  expect(csv.out).toBe(
    [
      "id,price,symbol,qty,day,note",
      "1,10.5,AAA,9007199254740993,2024-01-02,plain",
      '2,-0.25,BBB,2,2024-01-03,"comma, and ""quotes"""',
      "3,1000000,AAA,-3,2024-01-04,",
      "",
    ].join("\n"),
  );

  const table = await shmpipe("cat", name);
  expect(table.out.split("\n").map((line) => line.trim().split(/\s{2,}/))).toEqual([
    ["id", "price", "symbol", "qty", "day", "note"],
    ["1", "10.5", "AAA", "9007199254740993", "2024-01-02", "plain"],
    ["2", "-0.25", "BBB", "2", "2024-01-03", 'comma, and "quotes"'],
    ["3", "1000000", "AAA", "-3", "2024-01-04", "null"],
    [""],
  ]);

  const limited = await shmpipe("cat", name, "--limit", "1");
  expect(limited.out).toContain("... 2 more rows of 3 (--limit N shows more)");
  expect((await shmpipe("cat", name, "--format", "jsonl", "--limit", "2")).out.trim().split("\n")).toHaveLength(2);
  expect((await shmpipe("stat", name, "--json")).out).toBe(before);
});

test("cat of a channel refuses to join without --consume, and with it prints the Arrow batches and byte records", async () => {
  const arrow = uniqueName("cli-arrow");
  const writer = await segment("arrow", arrow);
  const refused = await shmpipe("cat", arrow);
  oneErrorLine(refused, /is a channel \(3 records, .* in flight\): .*Run `shmpipe cat --consume/);
  expect(JSON.parse((await shmpipe("stat", arrow, "--json")).out).readersEver).toBe(0);

  const consumed = await shmpipe("cat", arrow, "--consume", "--format", "jsonl");
  expect([consumed.code, consumed.err]).toEqual([0, ""]);
  expect(consumed.out.trim().split("\n").map((line) => JSON.parse(line))).toEqual(cliJson);
  expect(await writer.exited).toBe(0); // its close found a reader, and the stream ended

  const bytes = uniqueName("cli-bytes");
  await segment("bytes", bytes);
  const records = await shmpipe("cat", bytes, "--consume", "--format", "jsonl");
  expect(records.code).toBe(0);
  expect(records.out.trim().split("\n").map((line) => JSON.parse(line))).toEqual([
    { record: 0, bytes: 5, utf8: "hello", hex: null },
    { record: 1, bytes: 4, utf8: null, hex: "000102ff" },
    { record: 2, bytes: 0, utf8: "", hex: null },
  ]);
  expect(cliBytes()).toHaveLength(3);
});

test("cat --consume --limit stops early, and a table's pretty batches are headed", async () => {
  const name = uniqueName("cli-limit");
  await segment("arrow", name);
  const result = await shmpipe("cat", name, "--consume", "--limit", "2");
  expect(result.code).toBe(0);
  expect(result.out.split("\n")[0]).toBe("-- batch 0: 3 rows");
  expect(result.out.trim().split("\n")).toHaveLength(4); // the batch line, the header, two rows
});

test("unpublish of a name nobody published: one line about a table, with the name a typo away", async () => {
  const kept = uniqueName("kept");
  const publisher = spawnFixture("table-publish.ts", [kept]); // publishes to persist and exits
  await publisher.exited;
  try {
    const typo = kept.replace("kept", "kpet");
    const missing = await shmpipe("unpublish", typo);
    oneErrorLine(missing, /^shmpipe unpublish: unpublish on segment ".*" failed: No such file or directory \[ENOENT\]\. No table by that name is published: publish it first, or check the name\. Did you mean ".*"\?$/m);
    expect(missing.err).toContain(`Did you mean "${kept}"?`);
    expect(missing.err).not.toContain("channel");
  } finally {
    expect((await shmpipe("unpublish", kept)).code).toBe(0);
  }
});

test("rm removes names, refuses what is not a shmpipe segment, and says so in one line", async () => {
  const name = uniqueName("cli-rm");
  await segment("channel", name, "1");
  const removed = await shmpipe("rm", name);
  expect([removed.code, removed.out.trim()]).toEqual([0, `removed ${name}`]);
  expect(existsSync(shmPath(name))).toBe(false);
  oneErrorLine(await shmpipe("rm", name), new RegExp(`segment "${name}" failed: .*\\[ENOENT\\]`));
  oneErrorLine(await shmpipe("rm", "../etc"), /\[EBADARG\]/);
});

test("a garbage file named like a segment is an error line for stat, rm and cat, listed as unreadable, and left alone by gc", async () => {
  const name = uniqueName("cli-garbage");
  const path = shmPath(name);
  garbage.push(path);
  writeFileSync(path, new Uint8Array(8192).fill(0xa5), { mode: 0o600 });
  for (const command of ["stat", "rm", "cat"]) oneErrorLine(await shmpipe(command, name), new RegExp(`segment "${name}" failed: not a shmpipe segment .*\\[EBADMAGIC\\]`));
  const listed = await shmpipe("ls", "--json", "--prefix", name);
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.out)).toEqual([{ name, error: { code: "EBADMAGIC", message: expect.stringContaining("not a shmpipe segment") } }]);
  const text = await shmpipe("ls", "--prefix", name);
  expect(text.out).toContain("unreadable: EBADMAGIC");
  expect(text.err).toContain("EBADMAGIC");
  expect(JSON.parse((await shmpipe("gc", "--json", "--prefix", name)).out)).toEqual([]);
  expect(existsSync(path)).toBe(true);

  // Cut short: a header that promises more than the file holds.
  writeFileSync(path, new Uint8Array(100));
  oneErrorLine(await shmpipe("stat", name), /\[(ENOTREADY|ETRUNCATED)\]/);
});

test("a FIFO named like a segment: every command ends at once with an error line, and a create of the name too", async () => {
  const name = uniqueName("cli-fifo");
  const path = shmPath(name);
  garbage.push(path);
  expect(Bun.spawnSync(["mkfifo", "-m", "600", path]).exitCode).toBe(0);
  for (const command of ["stat", "rm", "cat"]) oneErrorLine(await shmpipe(command, name), /is a FIFO, not a file: not a shmpipe segment/);
  expect((await shmpipe("ls", "--prefix", name)).out).toContain("unreadable: EBADMAGIC");
  expect((await shmpipe("gc", "--prefix", name)).out).toContain("gc: nothing stale");
  const { createWriter } = await import("../lib/index.ts");
  expect(() => createWriter(name)).toThrow("[EEXIST]");
  expect(existsSync(path)).toBe(true);
});

// Making a segment another user's takes root (or sudo, as setup.sh uses for apt-get).
const asRoot = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
const canChown = Bun.spawnSync([...asRoot, "true"], { stderr: "ignore" }).exitCode === 0;

test.skipIf(!canChown)("gc leaves another user's stale segment alone (rm refuses it too)", async () => {
  const name = uniqueName("cli-other");
  const victim = await segment("channel", name, "1");
  victim.kill("SIGKILL"); // stale
  await victim.exited;
  running.splice(running.indexOf(victim), 1);
  garbage.push(shmPath(name));
  expect(Bun.spawnSync([...asRoot, "chown", "65534", shmPath(name)]).exitCode).toBe(0); // nobody's now
  expect((await shmpipe("gc", "--prefix", name)).out).toContain("gc: nothing stale");
  oneErrorLine(await shmpipe("rm", name), /\[EACCES\]/);
  expect(existsSync(shmPath(name))).toBe(true);
  if (asRoot.length) Bun.spawnSync([...asRoot, "rm", "-f", shmPath(name)]);
});

test("run runs a script with bun, passing its arguments and exit status, and each signal once", async () => {
  const script = new URL("./fixtures/cli-run-script.ts", import.meta.url).pathname;
  const exit = await shmpipe("run", script, "exit", "3", "a", "--help");
  expect([exit.code, exit.out.trim()]).toEqual([3, '["a","--help"]']);
  oneErrorLine(await shmpipe("run", "/nonexistent/pipeline.ts"), /no such file: \/nonexistent\/pipeline.ts/);

  const interrupted = spawnCli(["run", script, "signals"]);
  await waitForLine(interrupted, (line) => line === "ready");
  interrupted.kill("SIGINT");
  expect(await finished(interrupted)).toContain("SIGINT 1"); // and exit status 0

  const terminated = spawnCli(["run", script, "wait"]);
  await waitForLine(terminated, (line) => line === "ready");
  terminated.kill("SIGTERM");
  expect(await terminated.exited).toBe(143);
});

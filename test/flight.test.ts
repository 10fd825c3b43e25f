// shmpipe flight: channels and published tables between machines over
// Arrow Flight, with real processes only. The bridge (ffi/go/cmd/
// shmpipe-flight, run through `shmpipe flight`) is checked against itself,
// against pyarrow.flight as client and as server, and across two "machines"
// on this one: a mount namespace with a private tmpfs on /dev/shm, over
// 127.0.0.1, so nothing can pass through shared memory.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import type { Subprocess } from "bun";
import { makeVector, RecordBatch, type Table } from "apache-arrow";
import { ArrowReader, ArrowWriter, openReader, openTable, openWriter, Pipeline, shmPath, unpublish } from "../lib/index.ts";
import { goBuild } from "../lib/pipeline/go-build.ts";
import { python, pythonEnv } from "../scripts/python.ts";
import { uniqueName, waitForLine } from "./helpers.ts";

const root = new URL("..", import.meta.url).pathname;
const cli = `${root}scripts/shmpipe.ts`;
const fixtures = `${root}test/fixtures/flight`;
const bun = process.execPath;

type Child = Subprocess<"ignore", "pipe", "pipe">;

// Every process a test starts leads a process group of its own, killed
// whole after the test (a `shmpipe flight` command runs the Go program as
// its child; the "other machine" runs a writer beside it).
const started: Child[] = [];
const tables: string[] = [];

function start(argv: string[], env: Record<string, string | undefined> = {}): Child {
  const child = Bun.spawn(argv, {
    cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true,
    env: { ...pythonEnv(fixtures), ...env },
  });
  started.push(child);
  return child;
}

const flight = (args: string[], env: Record<string, string | undefined> = {}) => start([bun, cli, "flight", ...args], env);
const py = (fixture: string, args: (string | number)[]) => start([python(), `${fixtures}/${fixture}`, ...args.map(String)]);

afterEach(async () => {
  // SIGTERM first: the bindings remove the names their process created.
  const children = started.splice(0);
  const signal = (child: Child, name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid, name);
    } catch {
      // the group is gone already
    }
  };
  for (const child of children) signal(child, "SIGTERM");
  await Promise.race([Promise.all(children.map((child) => child.exited)), Bun.sleep(2000)]);
  for (const child of children) signal(child, "SIGKILL");
  for (const name of tables.splice(0)) {
    try {
      unpublish(name);
    } catch {
      // not published (the test failed before), or removed by the test
    }
  }
});

/** test/fixtures/go/flightsource, built: the Go writer of the other machine. */
let goSource = "";

beforeAll(async () => {
  // Built once here (as `shmpipe flight` builds it), so no test's clock pays for it.
  const built = await goBuild("./ffi/go/cmd/shmpipe-flight", root);
  if (typeof built !== "string") throw new Error(`go build failed: ${built.stderr}`);
  const source = await goBuild("./test/fixtures/go/flightsource", root);
  if (typeof source !== "string") throw new Error(`go build failed: ${source.stderr}`);
  goSource = source;
}, 120_000);

/** The "other machine" (a fixture script run in a mount namespace of its own): its address once its server listens. */
async function otherMachine(script: string, args: (string | number)[], env: Record<string, string> = {}): Promise<string> {
  const other = start(["unshare", "--mount", "sh", `${fixtures}/${script}`, ...args.map(String)], { BUN: bun, PYTHON: python(), ...env });
  const line = await waitForLine(other, (l) => l.startsWith("listening on ")).catch(async (e) => {
    throw new Error(`${e}: ${await new Response(other.stderr).text()}`);
  });
  return line.slice("listening on ".length);
}

/** Starts `shmpipe flight serve` and returns its address once it says it listens. */
async function serve(patterns: string, env: Record<string, string | undefined> = {}): Promise<{ server: Child; addr: string }> {
  const server = flight(["serve", "--serve", patterns, "--listen", "127.0.0.1:0"], env);
  const line = await waitForLine(server, (l) => l.startsWith("listening on ")).catch(async (error) => {
    throw new Error(`${error}: ${await new Response(server.stderr).text()}`);
  });
  expect(line).toMatch(/^listening on grpc:\/\/127\.0\.0\.1:\d+$/);
  return { server, addr: line.slice("listening on ".length) };
}

/** A child's exit status, stdout and stderr. */
async function outcome(child: Child): Promise<{ code: number; stdout: string; stderr: string }> {
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

async function succeeds(child: Child): Promise<string> {
  const { code, stdout, stderr } = await outcome(child);
  if (code !== 0) throw new Error(`exit ${code}: ${stderr}`);
  return stdout + stderr;
}

async function publishTable(name: string, rows: number, batch = rows): Promise<void> {
  tables.push(name);
  await succeeds(py("publish.py", [name, rows, batch]));
}

/** Rows, the sum of id and a few values, from a local table. */
function summary(table: Table): { rows: number; sum: number; first: unknown; last: unknown } {
  let sum = 0n;
  for (const data of table.getChild("id")!.data) for (const v of data.values as BigInt64Array) sum += v;
  const row = (i: number) => ({ id: Number(table.getChild("id")!.get(i)), x: table.getChild("x")!.get(i), s: table.getChild("s")?.get(i) });
  return { rows: table.numRows, sum: Number(sum), first: row(0), last: row(table.numRows - 1) };
}

const expected = (rows: number) => ({
  rows, sum: (rows * (rows - 1)) / 2,
  first: { id: 0, x: 0, s: "r0" }, last: { id: rows - 1, x: (rows - 1) / 2, s: `r${rows - 1}` },
});

/** A reader of a local channel (another process), waiting for it to be created: rows and the sum of id it read to the end, or the error that ended it. */
async function readChannel(name: string): Promise<{ rows: number; sum: number; error?: string }> {
  const reader = py("reader.py", [name]);
  const out = await outcome(reader);
  if (out.code !== 0) throw new Error(`reader of ${name} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
}

test("serve and pull on one machine: a published table and a live channel, values checked; pyarrow.flight lists and fetches both", async () => {
  const table = uniqueName("features");
  const channel = uniqueName("ticks-a");
  const busy = uniqueName("ticks-b");
  await publishTable(table, 50_000, 10_000);
  const writer = py("writer.py", [channel, 20, 1000, 0]);
  await waitForLine(writer, (l) => l === "ready");
  const { addr } = await serve(`${table},${channel.replace(/-a$/, "-*")},${busy}`);

  // pyarrow.flight, an independent client: the list, then the table.
  const listed = await succeeds(py("pa_client.py", [addr, "list"]));
  expect(listed).toContain(`${table} table 50000 schema`);
  expect(listed).toContain(`${channel} channel -1 -`);
  const fetched = JSON.parse(await succeeds(py("pa_client.py", [addr, "get", table])));
  expect(fetched).toEqual({ ...expected(50_000), batches: 5 });

  // shmpipe flight pull: the table becomes a table here, the channel a channel.
  const localTable = uniqueName("features-copy");
  tables.push(localTable);
  const pulled = await succeeds(flight(["pull", addr, table, localTable]));
  expect(pulled).toMatch(new RegExp(`pulled ${table} from ${addr} into persistent table ${localTable} .*: 50,000 rows, [\\d.]+ [KM]iB in [\\d.]+ s \\(`));
  expect(summary(openTable(localTable))).toEqual(expected(50_000));

  const localChannel = uniqueName("ticks-copy");
  const reading = readChannel(localChannel);
  await succeeds(flight(["pull", addr, channel, localChannel, "--quiet"]));
  expect(await reading).toEqual({ rows: 20_000, sum: (20_000 * 19_999) / 2 });
  expect(await writer.exited).toBe(0);

  // A channel whose ring (1 MiB) is reused many times over while batches
  // cross: each record is given back to its writer only once gRPC has sent
  // its bytes, so no value is overwritten on the way.
  const busyWriter = py("writer.py", [busy, 200, 8000, 0, 1 << 20]);
  await waitForLine(busyWriter, (l) => l === "ready");
  const fetched2 = JSON.parse(await succeeds(py("pa_client.py", [addr, "get", busy])));
  expect(fetched2).toMatchObject({ rows: 1_600_000, sum: (1_600_000 * 1_599_999) / 2, batches: 200 });
  expect(await busyWriter.exited).toBe(0);
}, 30_000);

test("dictionaries, lists with nulls, structs, booleans, large strings cross as they are, to pull and to pyarrow.flight", async () => {
  const table = uniqueName("types");
  tables.push(table);
  await succeeds(py("arrow_types.py", ["publish", table]));
  const { addr } = await serve(table);
  const local = uniqueName("types-copy");
  tables.push(local);
  await succeeds(flight(["pull", addr, table, local, "--quiet"]));
  expect((await succeeds(py("arrow_types.py", ["check", addr, table, local]))).trim()).toBe("equal");
}, 30_000);

test("a name not served is NOT_FOUND with a sentence, for pyarrow.flight and for pull; a served name not here too", async () => {
  const table = uniqueName("served");
  await publishTable(table, 10);
  const { addr } = await serve(table);
  const other = uniqueName("secret");
  const missing = (await succeeds(py("pa_client.py", [addr, "missing", other]))).trim();
  expect(missing).toMatch(/not found/i);
  expect(missing).toContain(`"${other}" is not served here: this server serves only ${table}`);
  const pulled = await outcome(flight(["pull", addr, other]));
  expect(pulled.code).toBe(1);
  expect(pulled.stderr).toContain(`"${other}" is not served here`);
  expect(pulled.stderr).toContain("(NotFound)");
  expect(existsSync(shmPath(other))).toBe(false);
  unpublish(table);
  const gone = await outcome(flight(["pull", addr, table, uniqueName("never")]));
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(new RegExp(`no channel or published table named "${table}" on this machine.*\\(NotFound\\)`));
}, 30_000);

test("shmpipe flight pull reads a table from pyarrow.flight's own server", async () => {
  const server = py("pa_server.py", [30_000, 7_000]);
  const addr = (await waitForLine(server, (l) => l.startsWith("listening on "))).slice("listening on ".length);
  const local = uniqueName("from-pyarrow");
  tables.push(local);
  const pulled = await succeeds(flight(["pull", addr, "remote-table", local, "--table"]));
  expect(pulled).toContain(`into persistent table ${local}`);
  expect(summary(openTable(local))).toEqual(expected(30_000));
  // Without --table a server that does not say what a name is gives a channel.
  const channel = uniqueName("from-pyarrow-channel");
  const reading = readChannel(channel);
  await succeeds(flight(["pull", addr, "remote-table", channel, "--quiet"]));
  expect(await reading).toEqual({ rows: 30_000, sum: (30_000 * 29_999) / 2 });
}, 30_000);

test("two machines: a server in a mount namespace with its own /dev/shm, over 127.0.0.1, both ways", async () => {
  const [table, channel, pushed] = ["features", "ticks-1", uniqueName("pushed")];
  // The names the other machine has must never be ours: nothing is shared.
  const ours = () => readdirSync("/dev/shm").filter((f) => f === "shmpipe.features" || f === "shmpipe.ticks-1");
  expect(ours()).toEqual([]);
  const addr = await otherMachine("two-machines.sh", [table, "40000", channel, "10", "2000", `features,ticks-*,${pushed}`]);
  expect(ours()).toEqual([]);

  // The same names on this machine, from the other one's.
  tables.push(table);
  await succeeds(flight(["pull", addr, table, "--quiet"]));
  expect(summary(openTable(table))).toEqual(expected(40_000));
  const reading = readChannel(channel);
  await succeeds(flight(["pull", addr, channel, "--quiet"]));
  expect(await reading).toEqual({ rows: 20_000, sum: (20_000 * 19_999) / 2 });

  // And back: a table of ours pushed there, then fetched again under a third name.
  const back = uniqueName("back");
  tables.push(back);
  const sent = await succeeds(flight(["push", table, addr, pushed]));
  expect(sent).toMatch(new RegExp(`pushed table ${table} to ${addr} as table ${pushed}: 40,000 rows`));
  expect(existsSync(shmPath(pushed))).toBe(false); // it went to the other machine's /dev/shm
  await succeeds(flight(["pull", addr, pushed, back, "--quiet"]));
  expect(summary(openTable(back))).toEqual(expected(40_000));
}, 40_000);

test("a pipeline with one stage on the other machine: p.pull fetches its channel into the pipeline's, read here as it comes", async () => {
  const addr = await otherMachine("two-machines.sh", ["features", "10", "ticks-1", "10", "2000", "ticks-*"]);
  const p = new Pipeline(uniqueName("remote"), { cwd: root });
  const ticks = p.channel("ticks", { capacity: 16 << 20 });
  const read = { rows: 0, sum: 0n };
  p.pull("fetch", `${addr}/ticks-1`, ticks);
  p.fn("sum", async ({ channels }) => {
    using batches = new ArrowReader(openReader(channels.ticks!));
    for await (const batch of batches) {
      read.rows += batch.numRows;
      for (const id of batch.getChild("id")!) read.sum += id as bigint;
    }
  }, { reads: [ticks] });
  const summary = await p.run({ quiet: true, print: () => {} });
  expect(summary.stages.map((stage) => [stage.name, stage.outcome.status])).toEqual([["fetch", 0], ["sum", 0]]);
  expect(read).toEqual({ rows: 20_000, sum: BigInt((20_000 * 19_999) / 2) });
  expect(() => p.pull("bad", "http://nowhere", ticks)).toThrow(/is not grpc:\/\/HOST:PORT\/NAME/);
}, 60_000);

test("the other way: p.push sends a pipeline's channel, as it is written, into a channel on the other machine", async () => {
  const addr = await otherMachine("two-machines.sh", ["features", "10", "ticks-1", "1", "10", "ticks-*,pushed-*"]);
  const p = new Pipeline(uniqueName("outward"), { cwd: root });
  const out = p.channel("out", { capacity: 16 << 20 });
  p.fn("make", async ({ channels }) => {
    using writer = new ArrowWriter(openWriter(channels.out!));
    for (let b = 0; b < 5; b++) {
      writer.write(new RecordBatch({ id: makeVector(BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(b * 1000 + i))).data[0]! }));
    }
  }, { writes: [out] });
  p.push("send", out, `${addr}/pushed-1`);
  // Here, what the other machine received, fetched back once it is there.
  const local = uniqueName("fetched");
  const reading = readChannel(local);
  const fetching = (async () => {
    for (let tries = 0; tries < 100; tries++) {
      const pulled = await outcome(flight(["pull", addr, "pushed-1", local, "--quiet"]));
      if (pulled.code === 0) return;
      if (!/NotFound/.test(pulled.stderr)) throw new Error(pulled.stderr);
      await Bun.sleep(100);
    }
    throw new Error("pushed-1 never appeared on the other machine");
  })();
  const summary = await p.run({ quiet: true, print: () => {} });
  expect(summary.stages.map((stage) => [stage.name, stage.outcome.status])).toEqual([["make", 0], ["send", 0]]);
  await fetching;
  expect(await reading).toEqual({ rows: 5000, sum: (5000 * 4999) / 2 });
}, 60_000);

test("a table whose one batch is far over gRPC's 4 MiB default crosses, to pull and to pyarrow.flight", async () => {
  const rows = 2_000_000; // id, x: 16 MB each; s: ~21 MB; one batch of ~53 MB
  const table = uniqueName("big");
  await publishTable(table, rows);
  const { addr } = await serve(table);
  const local = uniqueName("big-copy");
  tables.push(local);
  const pulled = await succeeds(flight(["pull", addr, table, local]));
  expect(pulled).toMatch(/2,000,000 rows, 5\d\.\d MiB/);
  expect(summary(openTable(local))).toEqual(expected(rows));
  expect(openTable(local).batches.length).toBe(1);
  const fetched = JSON.parse(await succeeds(py("pa_client.py", [addr, "get", table])));
  expect(fetched).toEqual({ ...expected(rows), batches: 1 });
}, 40_000);

test("a server that dies mid-stream: pull fails saying so, its channel's name goes, its reader sees the writer gone", async () => {
  const channel = uniqueName("slow");
  const writer = py("writer.py", [channel, 2000, 100, 0.05]);
  await waitForLine(writer, (l) => l === "ready");
  const { server, addr } = await serve(channel);
  const local = uniqueName("slow-copy");
  const reading = readChannel(local);
  const pull = flight(["pull", addr, channel, local]);
  for (const deadline = Date.now() + 10_000; !existsSync(shmPath(local)) && Date.now() < deadline;) await Bun.sleep(10);
  await Bun.sleep(300);
  process.kill(-server.pid, "SIGKILL");
  const { code, stderr } = await outcome(pull);
  expect(code).toBe(1);
  expect(stderr).toMatch(new RegExp(`the stream from ${addr} broke: .*; after \\d+ rows, the channel ${local} was removed and its readers see their writer gone`));
  const read = await reading;
  expect(read.error).toBe("EPEERGONE");
  expect(read.rows).toBeGreaterThan(0);
  expect(read.rows).toBeLessThan(200_000);
  expect(existsSync(shmPath(local))).toBe(false);
}, 30_000);

test("a client that dies mid-DoPut: the server goes on serving, the half-written channel's name goes and its reader sees the writer gone", async () => {
  const source = uniqueName("upstream");
  const remote = uniqueName("landed");
  const table = uniqueName("still");
  await publishTable(table, 100);
  const writer = py("writer.py", [source, 2000, 100, 0.05]);
  await waitForLine(writer, (l) => l === "ready");
  const { addr } = await serve(`${remote},${table}`);
  const reading = readChannel(remote);
  const push = flight(["push", source, addr, remote]);
  for (const deadline = Date.now() + 10_000; !existsSync(shmPath(remote)) && Date.now() < deadline;) await Bun.sleep(10);
  await Bun.sleep(300);
  if (push.exitCode !== null) throw new Error(`push ended first: ${(await outcome(push)).stderr}`);
  process.kill(-push.pid, "SIGKILL");
  const read = await reading;
  expect(read.error).toBe("EPEERGONE");
  expect(read.rows).toBeGreaterThan(0);
  expect(existsSync(shmPath(remote))).toBe(false);
  // Still serving.
  const fetched = JSON.parse(await succeeds(py("pa_client.py", [addr, "get", table])));
  expect(fetched.rows).toBe(100);
}, 30_000);

test("who may connect: a non-loopback listen needs TLS and a token; with a token set, a client without it is refused", async () => {
  const open = await outcome(flight(["serve", "--serve", "x", "--listen", "0.0.0.0:0"]));
  expect(open.code).toBe(2);
  expect(open.stderr).toContain("--listen 0.0.0.0:0 is reachable from other machines: it needs TLS (--tls-cert, --tls-key) and a token");
  const table = uniqueName("guarded");
  await publishTable(table, 100);
  const { addr } = await serve(table, { SHMPIPE_FLIGHT_TOKEN: "s3cret" });
  const refused = await outcome(flight(["pull", addr, table, uniqueName("nope")], { SHMPIPE_FLIGHT_TOKEN: "wrong" }));
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("refused the token");
  const local = uniqueName("guarded-copy");
  tables.push(local);
  await succeeds(flight(["pull", addr, table, local, "--quiet"], { SHMPIPE_FLIGHT_TOKEN: "s3cret" }));
  expect(openTable(local).numRows).toBe(100);
}, 30_000);

test("shmpipe flight --help says everything: serve, pull and push with their options", async () => {
  const help = await succeeds(flight(["--help"]));
  expect(help).toStartWith("usage: shmpipe flight <command> [options]");
  expect(help).not.toContain("shmpipe-flight pull"); // it names itself as the command that ran it
  for (const text of ["serve --serve PATTERNS", "pull ADDR NAME [LOCAL]", "push NAME ADDR [REMOTE]", "--listen HOST:PORT", "--tls-cert", "--token-file", "--capacity", "--table", "--persist", "listening on grpc://HOST:PORT"]) {
    expect(help).toContain(text);
  }
});

test("pyarrow.flight's DoPut into shmpipe flight serve: into a channel read here as it comes, and published as a table", async () => {
  const channel = uniqueName("put-channel");
  const table = uniqueName("put-table");
  const { addr } = await serve(`${channel},${table}`);
  const reading = readChannel(channel);
  expect(await succeeds(py("pa_client.py", [addr, "put", channel, 30_000, 3_000]))).toContain("put 30000");
  expect(await reading).toEqual({ rows: 30_000, sum: (30_000 * 29_999) / 2 });
  tables.push(table);
  await succeeds(py("pa_client.py", [addr, "put", table, 20_000, 6_000, "table"]));
  // The bridge published it: it is a table here, for any reader.
  expect(summary(openTable(table))).toEqual(expected(20_000));
}, 30_000);

test("TLS and a token: the server's certificate checked by the client, the token by the server", async () => {
  const dir = (await Bun.$`mktemp -d`.text()).trim();
  try {
    await Bun.$`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout ${dir}/key.pem -out ${dir}/cert.pem`.quiet();
    await Bun.write(`${dir}/token`, "t0ken\n");
    const table = uniqueName("secure");
    await publishTable(table, 1000);
    const server = flight(["serve", "--serve", table, "--listen", "127.0.0.1:0", "--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`, "--token-file", `${dir}/token`]);
    const line = await waitForLine(server, (l) => l.startsWith("listening on "));
    expect(line).toMatch(/^listening on grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
    const addr = line.slice("listening on ".length);
    // Without the CA the client refuses the server's certificate.
    const untrusted = await outcome(flight(["pull", addr, table, uniqueName("x"), "--token-file", `${dir}/token`]));
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain("its certificate is not trusted here: give the CA that signed it with --tls-ca FILE");
    // Plain gRPC to a TLS server gets nowhere.
    const plain = await outcome(flight(["pull", addr.replace("grpc+tls", "grpc"), table, uniqueName("x"), "--token-file", `${dir}/token`]));
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("cannot reach the Flight server at grpc://127.0.0.1:");
    const local = uniqueName("secure-copy");
    tables.push(local);
    await succeeds(flight(["pull", addr, table, local, "--quiet", "--tls-ca", `${dir}/cert.pem`, "--token-file", `${dir}/token`]));
    expect(openTable(local).numRows).toBe(1000);
  } finally {
    await Bun.$`rm -rf ${dir}`;
  }
}, 30_000);

/** What R or Python says of a local table or channel of flightsource's rows (go_rows.R, go_rows.py). */
async function goRows(language: "R" | "Python", kind: "table" | "channel", name: string): Promise<Record<string, unknown>> {
  const reader = language === "R"
    ? start(["Rscript", "--vanilla", `${fixtures}/go_rows.R`, kind, name], { R_LIBS: `${root}.rlib` })
    : py("go_rows.py", [kind, name]);
  return JSON.parse((await succeeds(reader)).trim().split("\n").at(-1)!);
}

test("Go -> Flight -> R and Python: a Go writer's table and channels on the other machine, fetched here, read by R and Python, values and types checked", async () => {
  const [rows, batch] = [100_000, 30_000];
  const addr = await otherMachine("go-machine.sh", [rows, batch], { GOSOURCE: goSource });
  const table = uniqueName("go-features");
  const [forR, forPython] = [uniqueName("go-ticks-r"), uniqueName("go-ticks-py")];
  tables.push(table);
  // The published table, then each live channel into a channel here, read as it comes.
  await succeeds(flight(["pull", addr, "features", table, "--quiet"]));
  const reading = [goRows("R", "channel", forR), goRows("Python", "channel", forPython)] as const;
  await Promise.all([succeeds(flight(["pull", addr, "ticks-r", forR, "--quiet"])), succeeds(flight(["pull", addr, "ticks-py", forPython, "--quiet"]))]);
  const [rChannel, pythonChannel] = await Promise.all(reading);
  const [rTable, pythonTable] = await Promise.all([goRows("R", "table", table), goRows("Python", "table", table)]);

  // Row i: id = i, price = i / 4, sym = "S<i mod 7>", ts = 1,700,000,000 s + i ms (flightsource).
  const sumId = (rows * (rows - 1)) / 2;
  const values = { rows, sum_id: sumId, sum_price: sumId / 4, s3: Math.floor((rows - 1 - 3) / 7) + 1 };
  const first = 1_700_000_000;
  const last = first + (rows - 1) / 1000;
  const rTypes = { id: "integer", price: "numeric", sym: "character", ts: "POSIXct" };
  const pythonTypes = { id: "int64", price: "double", sym: "string", ts: "timestamp[us, tz=UTC]" };
  const answers: [string, Record<string, unknown>, Record<string, string>][] = [
    ["R, the channel", rChannel, rTypes], ["R, the table", rTable, rTypes],
    ["Python, the channel", pythonChannel, pythonTypes], ["Python, the table", pythonTable, pythonTypes],
  ];
  for (const [what, got, types] of answers) {
    const { first: firstSeen, last: lastSeen, tz, ...rest } = got;
    expect({ what, ...rest } as Record<string, unknown>).toEqual({ what, ...values, types });
    expect(firstSeen as number).toBeCloseTo(first, 5);
    expect(lastSeen as number).toBeCloseTo(last, 5);
    if (what.startsWith("R")) expect(tz).toBe("UTC");
  }
  // Nothing of the other machine's is here but what was fetched.
  expect(readdirSync("/dev/shm").filter((f) => ["shmpipe.features", "shmpipe.ticks-r", "shmpipe.ticks-py"].includes(f))).toEqual([]);
}, 60_000);

test("a 1 GiB table crosses: published on the other machine in batches of 256 MiB, pulled into a table here, every value checked", async () => {
  // id and x: 16 bytes a row; 2^26 rows = 1 GiB, in batches of 2^24 rows (256 MiB).
  const [rows, batch] = [1 << 26, 1 << 24];
  const addr = await otherMachine("big-machine.sh", [rows, batch], { GOSOURCE: goSource });
  const local = uniqueName("big-copy");
  tables.push(local);
  const pulled = await succeeds(flight(["pull", addr, "big", local]));
  expect(pulled).toMatch(new RegExp(`pulled big from ${addr} into persistent table ${local} .*: 67,108,864 rows, 1\\.0 GiB in [\\d.]+ s \\(`));
  const checked = JSON.parse(await succeeds(py("big_table.py", [local])));
  expect(checked).toEqual({ rows, batches: 4, largest: 256 << 20, sum: (rows * (rows - 1)) / 2, exact: true });
  unpublish(local);
  expect(existsSync(shmPath(local))).toBe(false);
}, 120_000);

test("pull --wait: a name that appears on the server later is fetched once it is there; one that never does fails when the wait ends", async () => {
  const late = uniqueName("late");
  const { addr } = await serve(late);
  const local = uniqueName("late-copy");
  tables.push(local);
  const pulling = flight(["pull", addr, late, local, "--quiet", "--wait", "20s"]);
  await Bun.sleep(500);
  expect(pulling.exitCode).toBeNull(); // still waiting
  await publishTable(late, 1000);
  await succeeds(pulling);
  expect(summary(openTable(local))).toEqual(expected(1000));
  const never = await outcome(flight(["pull", addr, uniqueName("never"), "--wait", "300ms"]));
  expect(never.code).toBe(1);
  expect(never.stderr).toMatch(/is not served here: .*\(NotFound\); waited 300ms for it \(--wait\)/);
}, 30_000);

// Published tables across languages, with real processes, beyond what the
// conformance matrix (test/conformance.test.ts: every publisher × opener)
// checks: Go's table in R in place and in R's PSOCK workers by name, and
// the name of R's table going with R's session.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTable, shmPath, unpublish } from "../lib/index.ts";
import { finished, goFixture, spawnGo, spawnR, uniqueName, waitForLine } from "./helpers.ts";

goFixture(); // built here, before any test's clock starts

// What a test leaves behind when it fails half-way.
const names: string[] = [];
const dirs: string[] = [];

function tableName(label: string): string {
  const name = uniqueName(label);
  names.push(name);
  return name;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const name of names.splice(0)) if (existsSync(shmPath(name))) unpublish(name);
});

test("Go → R: a table Go published opens in R, whole and batch by batch, nulls as NA, in place where R can; the name goes when Go unpublishes", async () => {
  const name = tableName("go-table-to-r");
  const go = spawnGo(["table-publish", name]);
  try {
    await waitForLine(go, (line) => line === "published");
    const [whole, ...batches] = (await finished(spawnR("open_table_parts.R", [name]))).split("--\n").map((part) => part.trim().split("\n"));
    // Whole, the two batches are one data.frame: its columns joined (a copy).
    expect(whole).toEqual([
      "value|numeric|FALSE|0.5,1.5,2.5,3.5,4.5",
      "qty|integer|FALSE|0,100,200,NA,400",
      "label|character|FALSE|row 0,row 1,row 2,row 3,row 4",
      "flag|logical|FALSE|TRUE,NA,TRUE,FALSE,TRUE",
    ]);
    // Batch by batch, the numeric and string columns view the table in
    // place (nulls read as NA through the validity bitmap); booleans are
    // bits, copied into R's logicals.
    expect(batches).toEqual([
      ["value|numeric|TRUE|0.5,1.5,2.5", "qty|integer|TRUE|0,100,200", "label|character|TRUE|row 0,row 1,row 2", "flag|logical|FALSE|TRUE,NA,TRUE"],
      ["value|numeric|TRUE|3.5,4.5", "qty|integer|TRUE|NA,400", "label|character|TRUE|row 3,row 4", "flag|logical|FALSE|FALSE,TRUE"],
    ]);
  } finally {
    go.stdin.end();
  }
  expect((await finished(go)).trim()).toBe("unpublished");
  expect(existsSync(shmPath(name))).toBe(false);
});

test("Go → R's PSOCK workers: a table Go published reaches them by name, and each maps it itself", async () => {
  const name = tableName("go-table-to-psock");
  const rows = 100_000;
  const go = spawnGo(["table-publish-numbers", name, String(rows)]);
  try {
    await waitForLine(go, (line) => line === "published");
    const [sent, ...workers] = (await finished(spawnR("psock_table.R", [name]))).trim().split("\n");
    // The table's 1.2 MB travel as names: a few hundred bytes.
    const [, bytes] = sent!.match(/^serialized (\d+) bytes for 100000 rows$/) ?? [];
    expect(Number(bytes)).toBeLessThan(1000);
    expect(workers).toEqual(["TRUE 5000050000 5000050000", "TRUE 5000050000 5000050000"]);
  } finally {
    go.stdin.end();
  }
  expect((await finished(go)).trim()).toBe("unpublished");
});

test("R → Go and R → TypeScript: a table R published opens in both, value for value; the name goes when R's session ends", async () => {
  const name = tableName("r-table-to-go-ts");
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-tables-"));
  dirs.push(dir);
  const r = spawnR("publish_table.R", [name, join(dir, "done")]);
  await waitForLine(r, (line) => line === "published");
  expect(JSON.parse(await finished(spawnGo(["table-open", name])))).toEqual({
    rows: 1000, sum: 500500, labels: ["row 1", "row 1000"], types: "value:float64,label:utf8",
  });
  const table = openTable(name);
  const values = table.getChild("value")!.toArray() as Float64Array;
  expect([table.numRows, values.reduce((a, b) => a + b, 0), table.getChild("label")!.get(0), table.getChild("label")!.get(999)])
    .toEqual([1000, 500500, "row 1", "row 1000"]);
  writeFileSync(join(dir, "done"), "");
  await finished(r);
  expect(existsSync(shmPath(name))).toBe(false);
});

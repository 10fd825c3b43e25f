// The seed streams of the Arrow message fuzzer: Arrow IPC streams written
// by apache-arrow (the TypeScript sample tables) and by pyarrow (the Python
// sample tables and the types and stream shapes pyarrow_seeds.py adds: list
// views, string views, unions, run-end encoding, dictionary deltas, a
// schema change). test/arrow-fuzz.test.ts fuzzes them; make-corpus.ts turns
// them into the libFuzzer corpus (fuzz/corpus/).
import { join } from "node:path";
import { ipcStreamOf, sampleTables } from "../../../test/fixtures/arrow-tables.ts";
import { python, pythonEnv, pythonBinding } from "../../../scripts/python.ts";

const here = new URL(".", import.meta.url).pathname;

/** Writes every seed stream into `dir`; returns their paths. */
export async function writeSeedStreams(dir: string): Promise<string[]> {
  const seeds: string[] = [];
  for (const [label, table] of Object.entries(sampleTables())) {
    if (label === "long") continue; // big seeds only slow the rounds down
    const path = join(dir, `ts-${label}.arrows`);
    await Bun.write(path, ipcStreamOf(table));
    seeds.push(path);
  }
  const pyarrow = Bun.spawnSync([python(), join(here, "pyarrow_seeds.py"), dir], {
    env: pythonEnv(join(pythonBinding, "tests")),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (pyarrow.exitCode !== 0) throw new Error(`pyarrow_seeds.py failed: ${pyarrow.stderr}`);
  seeds.push(...pyarrow.stdout.toString().trim().split("\n"));
  return seeds;
}

// The pools group of `shmpipe bench`: Python worker pools (a
// concurrent.futures.ProcessPoolExecutor and a multiprocessing.Pool, 4
// spawned workers) each summing its share of a features table's columns,
// which they get by name (a published table pickles as its name) or pickled
// by value. The case is examples/python-pool/pool.py, which prints its
// figures as JSON lines (time from submit to every result, bytes pickled
// per worker, the workers' total Pss and its growth).
import { join } from "node:path";
import { groupReport } from "./group-report.ts";
import { python } from "../python.ts";


/** The table's size: 1 GiB, or 256 MiB with --quick. */
const tableMiB = (quick: boolean) => (quick ? 256 : 1024);

export function poolCases(quick: boolean, root: string): string[] {
  return [`PYTHONPATH=${join(root, "ffi/python")} ${python()} ${join(root, "examples/python-pool/pool.py")} --json --mib ${tableMiB(quick)} --workers 4`];
}

export const isPools = (name: string) => name.startsWith("Python pools");

type Results = Map<string, { case: string; value: number; unit: string; runs: number }>;

/** The pools section: the figures, and the ratios the issue set goals for. */
export function poolsReport(results: Results, command: string, quick: boolean): string {
  const size = quick ? "256 MiB" : "1 GiB";
  const get = (name: string) => results.get(`Python pools, 4 workers, ${size} table: ${name}`)?.value ?? NaN;
  const publish = get("shmpipe by name: publish");
  const ratios: [string, number][] = [];
  for (const pool of ["ProcessPoolExecutor", "multiprocessing.Pool"]) {
    const copy = get(`pickled by value: ${pool}: submit -> results`), byName = get(`shmpipe by name: ${pool}: submit -> results`);
    const growth = (way: string) => get(`${way}: ${pool}: workers' Pss growth`);
    ratios.push(
      [`${pool}: pickled by value ÷ shmpipe by name, submit -> results (table published before)`, copy / byName],
      [`${pool}: pickled by value ÷ shmpipe by name, publish + submit -> results`, copy / (byName + publish)],
      [`${pool}: workers' Pss growth, pickled by value ÷ shmpipe by name`, growth("pickled by value") / growth("shmpipe by name")],
      [`${pool}: workers' Pss growth, shmpipe by name ÷ the table's size`, growth("shmpipe by name") / tableMiB(quick)],
      [`${pool}: workers' Pss growth, pickled by value ÷ the table's size`, growth("pickled by value") / tableMiB(quick)],
    );
  }
  return groupReport(command, [...results.values()].filter((r) => isPools(r.case)), ratios);
}


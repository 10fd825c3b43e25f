// The R group of `shmpipe bench`: Go -> R hand-off of a batch of numeric
// columns against what an R user would otherwise do (the same bytes over a
// TCP socket read with readBin, a CSV file read with read.csv or
// data.table::fread), and the PSOCK story (a features table to 4 workers,
// by name against clusterExport) and the same through future's
// multisession workers (by name against future sending the data.frame). Every case is a command that prints its
// figures as JSON lines; R finds the package in the project's .rlib.
import { join } from "node:path";
import { groupReport } from "./group-report.ts";
import { sizeLabel } from "./size-label.ts";

const MiB = 1 << 20, GiB = 1 << 30;

export function rCases(quick: boolean, root: string, goBench: string): string[] {
  const env = `R_LIBS=${join(root, ".rlib")}`;
  const reader = (transport: string) => `Rscript ${join(root, "scripts/bench/handoff_reader.R")} ${transport}`;
  const commands: string[] = [];
  for (const bytes of quick ? [MiB, 100 * MiB] : [MiB, 100 * MiB, GiB]) {
    // reps and warm-up rounds: fewer where one round takes seconds
    const shm = bytes >= GiB ? "3 2" : bytes >= 100 * MiB ? "10 3" : "50 10";
    const socket = bytes >= GiB ? "2 1" : bytes >= 100 * MiB ? "3 1" : "10 3";
    commands.push(`${env} ${goBench} handoff shm R ${bytes} ${shm} -- ${reader("shm")}`);
    commands.push(`${env} ${goBench} handoff tcp-raw R ${bytes} ${socket} -- ${reader("tcp-raw")}`);
    // CSV of a gigabyte takes minutes per round in R: it stops at 100 MiB.
    if (bytes < GiB) {
      const csv = bytes >= 100 * MiB ? "1 0" : "5 1";
      commands.push(`${env} ${goBench} handoff csv "R fread" ${bytes} ${csv} -- ${reader("csv fread")}`);
      commands.push(`${env} ${goBench} handoff csv "R read.csv" ${bytes} ${csv} -- ${reader("csv read.csv")}`);
    }
  }
  commands.push(`${env} Rscript ${join(root, "examples/r-parallel/psock.R")} --json ${quick ? 256 * MiB : GiB} 4`);
  commands.push(`${env} Rscript ${join(root, "examples/r-parallel/future.R")} --json ${quick ? 256 * MiB : GiB} 4`);
  return commands;
}

export const isR = (name: string) => name.includes("->R") || name.startsWith("R PSOCK") || name.startsWith("R future");

type Results = Map<string, { case: string; value: number; unit: string; runs: number }>;

/** The R section: the figures, and the ratios the issue set goals for. */
export function rReport(results: Results, command: string, quick: boolean): string {
  const get = (name: string) => results.get(name)?.value ?? NaN;
  const ratios: [string, number][] = [];
  for (const size of (quick ? [MiB, 100 * MiB] : [MiB, 100 * MiB, GiB]).map(sizeLabel)) {
    const shm = get(`shmpipe Go->R commit -> usable, ${size} batch`);
    const written = get(`shmpipe Go->R write -> usable, ${size} batch`);
    for (const other of ["CSV file written + parsed Go->R fread", "CSV file written + parsed Go->R read.csv", "raw columns over TCP loopback Go->R"]) {
      ratios.push([`${size} batch: ${other} ÷ shmpipe Go->R commit -> usable`, get(`${other}, ${size} batch`) / shm]);
      ratios.push([`${size} batch: ${other} ÷ shmpipe Go->R write -> usable`, get(`${other}, ${size} batch`) / written]);
    }
  }
  ratios.push([`shmpipe Go->R commit -> usable: ${quick ? "100 MiB" : "1 GiB"} ÷ 1 MiB batch`, get(`shmpipe Go->R commit -> usable, ${quick ? "100 MiB" : "1 GiB"} batch`) / get("shmpipe Go->R commit -> usable, 1 MiB batch")]);
  const psock = (label: string) => get(`R PSOCK, 4 workers, ${quick ? "256 MiB" : "1 GiB"} table: ${label}`);
  const copyTime = psock("clusterExport copy: clusterExport + parLapply -> results");
  const byName = psock("shmpipe by name: clusterExport + parLapply -> results");
  ratios.push(
    ["PSOCK: clusterExport copy ÷ shmpipe by name, clusterExport -> results (table published before)", copyTime / byName],
    ["PSOCK: clusterExport copy ÷ shmpipe by name, publish_table + clusterExport -> results", copyTime / (byName + psock("shmpipe by name: publish_table"))],
    ["PSOCK: workers' Pss growth, clusterExport copy ÷ shmpipe by name", psock("clusterExport copy: workers' Pss growth") / psock("shmpipe by name: workers' Pss growth")],
    ["PSOCK: workers' Pss growth, shmpipe by name ÷ the table's size", psock("shmpipe by name: workers' Pss growth") / (quick ? 256 : 1024)],
    ["PSOCK: workers' Pss growth, clusterExport copy ÷ the table's size", psock("clusterExport copy: workers' Pss growth") / (quick ? 256 : 1024)],
  );
  const future = (label: string) => get(`R future multisession, 4 workers, ${quick ? "256 MiB" : "1 GiB"} table: ${label}`);
  ratios.push(
    ["future: future copy ÷ shmpipe by name, future -> results (table published before)", future("future copy: future -> results") / future("shmpipe by name: future -> results")],
    ["future: future copy ÷ shmpipe by name, publish_table + future -> results", future("future copy: future -> results") / (future("shmpipe by name: future -> results") + future("shmpipe by name: publish_table"))],
    ["future: bytes sent per future, future copy ÷ shmpipe by name", future("future copy: bytes sent per future") / future("shmpipe by name: bytes sent per future")],
  );
  return groupReport(command, [...results.values()].filter((r) => isR(r.case)), ratios);
}

// The flight group of `shmpipe bench`: a published table moved over Arrow
// Flight on loopback by the bridge (`shmpipe flight serve`, DoGet and
// DoPut), against pyarrow.flight's own server moving the same table from
// its memory, the same bytes as an Arrow IPC stream over a plain TCP
// socket, and a memcpy of as many bytes. Each case is a run of
// scripts/bench/flight_case.py (the server a process on the second CPU,
// the client pyarrow.flight or the bridge's own pull/push), which prints
// one JSON line in GB/s; the memcpy is the C baselines' with a size.
import { join } from "node:path";
import { groupReport } from "./group-report.ts";
import { python } from "../python.ts";

/** The table's size: 1 GiB, or 256 MiB with --quick. */
const tableMiB = (quick: boolean) => (quick ? 256 : 1024);

export function flightCases(quick: boolean, root: string, program: string, baselines: string): string[] {
  const mib = tableMiB(quick);
  const run = (args: string) => `env PYTHONPATH=${join(root, "ffi/python")} ${python()} ${join(root, "scripts/bench/flight_case.py")} ${program} ${args} --mib ${mib}`;
  return [
    ...["bridge", "pyarrow"].flatMap((server) => ["pyarrow", "go"].map((client) => run(`get ${server} ${client}`))),
    run("get ipc-tcp pyarrow"),
    ...["bridge-channel", "bridge-table", "pyarrow"].flatMap((server) => ["pyarrow", "go"].map((client) => run(`put ${server} ${client}`))),
    `${baselines} memcpy ${quick ? 5 : 3} ${mib}`,
  ];
}

/** The memcpy of the table's size is this group's (the C group's is of 1 MiB). */
export const isFlight = (name: string) => name.startsWith("Flight ") || (/^C memcpy \d+ MiB$/.test(name) && name !== "C memcpy 1 MiB");

type Results = Map<string, { case: string; value: number; unit: string; runs: number; min?: number; max?: number }>;

/** The flight section: the figures, and the bridge against each of the others, as the issue asks. */
export function flightReport(results: Results, command: string, quick: boolean): string {
  const mib = tableMiB(quick);
  const size = quick ? "256 MiB" : "1 GiB";
  const flight = (what: string, server: string, client: string) => results.get(`Flight ${what}, ${size} table: ${server} ${what === "DoPut" ? "<-" : "->"} ${client}`)?.value ?? NaN;
  // MiB/s to GB/s, as the Flight cases count
  const memcpy = ((results.get(`C memcpy ${mib} MiB`)?.value ?? NaN) * (1 << 20)) / 1e9;
  const ipc = results.get(`Flight IPC stream, ${size} table: Arrow IPC stream over TCP (pyarrow) -> pyarrow reader`)?.value ?? NaN;
  const clients: [string, string, string][] = [
    ["pyarrow.flight client", "pyarrow.flight client", "pyarrow.flight client"],
    ["pull --discard (arrow-go)", "push (arrow-go)", "arrow-go client"],
  ];
  const ratios: [string, number][] = [];
  for (const [getClient, putClient, label] of clients) {
    const bridge = flight("DoGet", "shmpipe flight serve", getClient);
    ratios.push(
      [`DoGet, ${label}: bridge ÷ pyarrow.flight server`, bridge / flight("DoGet", "pyarrow.flight server", getClient)],
      [`DoGet, ${label}: bridge ÷ Arrow IPC stream over TCP`, bridge / ipc],
      [`DoGet, ${label}: bridge ÷ memcpy of ${size}`, bridge / memcpy],
    );
    const puts: [string, string][] = [["into a channel", "shmpipe flight serve, into a channel read there"], ["published as a table", "shmpipe flight serve, published as a table"]];
    for (const [into, server] of puts) {
      const put = flight("DoPut", server, putClient);
      ratios.push(
        [`DoPut ${into}, ${label}: bridge ÷ pyarrow.flight server`, put / flight("DoPut", "pyarrow.flight server", putClient)],
        [`DoPut ${into}, ${label}: bridge ÷ Arrow IPC stream over TCP`, put / ipc],
        [`DoPut ${into}, ${label}: bridge ÷ memcpy of ${size}`, put / memcpy],
      );
    }
  }
  ratios.push([`pyarrow.flight server, pyarrow.flight client, DoGet ÷ Arrow IPC stream over TCP`, flight("DoGet", "pyarrow.flight server", "pyarrow.flight client") / ipc]);
  return groupReport(command, [...results.values()].filter((r) => isFlight(r.case)), ratios, true);
}

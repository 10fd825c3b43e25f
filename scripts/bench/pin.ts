import { spawn } from "node:child_process";
import { bunCommand, denoCommand } from "../../lib/pipeline/runtimes.ts";

// Both sides of a two-process case on CPUs of their own: with
// SHMPIPE_BENCH_CPUS=A,B (set by scripts/bench.ts, which starts each case on
// CPU A), the peer a case starts runs on CPU B, under taskset.
export function pinnedPeer(argv: string[]): string[] {
  const cpus = process.env.SHMPIPE_BENCH_CPUS?.split(",");
  return cpus?.[1] ? ["taskset", "-c", cpus[1], ...argv] : argv;
}

/**
 * A script run by the runtime this case runs under (bun FILE, or deno run
 * -A FILE), as a pinned peer, its stdio as the case's; resolves with its
 * exit status. The same case then measures Bun and Deno alike.
 */
export function spawnPeer(script: string, args: string[]): Promise<number> {
  const [program, ...rest] = pinnedPeer(runtimeArgv(script, args));
  const child = spawn(program!, rest, { stdio: ["ignore", "inherit", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

/** How the runtime this case runs under runs `script` (bun FILE, or deno run -A FILE). */
export function runtimeArgv(script: string, args: string[]): string[] {
  return (process.versions.deno ? denoCommand : bunCommand)(script, args, process.env).argv;
}

/** "TS" under Bun, "Deno" under Deno: how the cases name the runtime. */
export const runtimeLabel = process.versions.deno ? "Deno" : "TS";

// Both sides of a two-process case on CPUs of their own: with
// SHMPIPE_BENCH_CPUS=A,B (set by scripts/bench.ts, which starts each case on
// CPU A), the peer a case starts runs on CPU B, under taskset.
export function pinnedPeer(argv: string[]): string[] {
  const cpus = process.env.SHMPIPE_BENCH_CPUS?.split(",");
  return cpus?.[1] ? ["taskset", "-c", cpus[1], ...argv] : argv;
}

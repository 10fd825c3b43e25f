// Makes the libFuzzer corpus of the Arrow message check (ffi/core/fuzz/corpus/)
// from the seed streams (seeds.ts): each stream becomes one file of framed
// records ([u32 length][record]...; see fuzz_arrow.c), written by the gcc
// build of fuzz_arrow, which first checks that the stream is accepted whole.
// Streams larger than MAX_BYTES are left out: the corpus stays small, and
// big inputs only slow the fuzzer down.
//
//   bun ffi/core/fuzz/make-corpus.ts      (or: make -C ffi/core corpus)
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSeedStreams } from "./seeds.ts";

const MAX_BYTES = 24 * 1024;
const core = new URL("..", import.meta.url).pathname;
const corpus = join(core, "fuzz/corpus");

const build = Bun.spawnSync(["make", "-s", "-C", core, "fuzz"], { stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0) process.exit(1);
const dir = mkdtempSync(join(tmpdir(), "shmpipe-corpus-"));
try {
  const seeds = (await writeSeedStreams(dir)).filter((path) => statSync(path).size <= MAX_BYTES);
  rmSync(corpus, { recursive: true, force: true });
  mkdirSync(corpus, { recursive: true });
  const write = Bun.spawnSync([join(core, "build/fuzz_arrow"), "--write-corpus", corpus, ...seeds], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if (write.exitCode !== 0) process.exit(1);
  const bytes = readdirSync(corpus).reduce((sum, name) => sum + statSync(join(corpus, name)).size, 0);
  console.log(`corpus: ${readdirSync(corpus).length} files, ${bytes} bytes in ${corpus}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

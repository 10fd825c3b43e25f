// A full /dev/shm, for real: a 1 MiB tmpfs mounted over /dev/shm in a
// mount namespace of the test's own (root, or sudo as setup.sh uses for
// apt-get). Creating a channel that does not fit fails with ENOSPC and a
// sentence that says what to do, in the binding that maps segments itself
// (TypeScript) and in one that asks the core to (R); nothing is left.
import { expect, test } from "bun:test";

const root = process.getuid?.() === 0 ? [] : ["sudo", "-n", "--preserve-env=BUN,PATH"];
// A machine that lets no one make a mount namespace (a container without
// CAP_SYS_ADMIN) cannot stage this; the core's ENOSPC sentence is then
// still checked by ffi/core/test (shmp_syscall_failed).
const canUnshare = Bun.spawnSync([...root, "unshare", "--mount", "true"], { stderr: "ignore" }).exitCode === 0;

test.skipIf(!canUnshare)("a channel that does not fit in /dev/shm: ENOSPC, said plainly, and nothing left behind", () => {
  const run = Bun.spawnSync([...root, "unshare", "--mount", "sh", "test/fixtures/full-shm.sh"], {
    cwd: new URL("..", import.meta.url).pathname,
    env: { ...process.env, BUN: process.execPath },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  const lines = run.stdout.toString().trim().split("\n");
  expect(lines[0]).toMatch(/^ts: ENOSPC .*too-big/);
  expect(lines[1]).toMatch(/^r: ENOSPC .*too-big/);
  expect(lines[0]!.replace(/^ts: /, "")).toBe(lines[1]!.replace(/^r: /, "").trim()); // one sentence, from the core
  expect(lines[2]!.trim()).toBe("left:");
});

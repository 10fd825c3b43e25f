// Ctrl-C and SIGTERM end a TypeScript process blocked in a synchronous
// shmpipe call at once, with its names removed: JavaScript listeners cannot
// run during the call, so the core ends the wait and the binding acts.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { shmPath } from "../lib/index.ts";
import { spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

for (const mode of ["recv", "send", "async"]) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal} ends a creator waiting in ${mode} within 100 ms and removes its name`, async () => {
      const name = uniqueName(`${mode}-${signal}`);
      const child = spawnFixture("blocked-creator.ts", [mode, name]);
      await waitForLine(child, (line) => line === "ready");
      await Bun.sleep(50); // well into the wait
      const start = performance.now();
      child.kill(signal);
      await child.exited;
      expect(performance.now() - start).toBeLessThan(100);
      expect(child.signalCode).toBe(signal);
      expect(existsSync(shmPath(name))).toBe(false);
    });
  }
}

test("a program that handles SIGINT itself gets EINTR from the blocked call, then its listener runs", async () => {
  const name = uniqueName("handled");
  const child = spawnFixture("blocked-creator.ts", ["recv", name, "handled"]);
  await waitForLine(child, (line) => line === "ready");
  await Bun.sleep(50);
  child.kill("SIGINT");
  const line = await waitForLine(child, (text) => text.startsWith("interrupted"));
  expect(line).toBe("interrupted: EINTR");
  expect(await waitForLine(child, (text) => text === "handler ran")).toBe("handler ran");
  await child.exited;
  expect(child.exitCode).toBe(0);
  expect(existsSync(shmPath(name))).toBe(false); // removed at exit
});

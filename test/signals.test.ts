// Ctrl-C and SIGTERM end a TypeScript process blocked in a synchronous
// shmpipe call at once, with its names removed: JavaScript listeners cannot
// run during the call, so the core ends the wait and the binding acts.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { createWriter, shmPath, unpublish } from "../lib/index.ts";
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

for (const when of ["handled", "handled-late"]) {
  test(`a program that handles SIGINT itself (${when === "handled" ? "from the start" : "since after it created the channel"}) gets EINTR from the blocked call, then its listener runs`, async () => {
    const name = uniqueName(when);
    const child = spawnFixture("blocked-creator.ts", ["recv", name, when]);
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
}

for (const end of ["exit", "SIGTERM"]) {
  test(`on ${end === "exit" ? "exit" : "SIGTERM"} the names the process created or took on go, and a persistent table's stays`, async () => {
    const [channel, table, adopted] = ["channel", "table", "adopted"].map((label) => uniqueName(`owned-${end}-${label}`)) as [string, string, string];
    const made = createWriter(adopted, { capacity: 4096 });
    try {
      const child = spawnFixture("owned-names.ts", [channel, table, adopted, end]);
      await waitForLine(child, (line) => line === "owned");
      await child.exited;
      expect(child.signalCode).toBe(end === "exit" ? null : "SIGTERM");
      expect([channel, table, adopted].map((name) => existsSync(shmPath(name)))).toEqual([false, true, false]);
    } finally {
      unpublish(table);
      made.close();
    }
  });
}

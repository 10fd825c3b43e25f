// The README's shell blocks, run as written, one test each, from the
// repository's root, with a PATH as a newcomer has it (without
// node_modules/.bin: the README says `npx bun`). A block after a comment
// `<!-- readme-test: skip (why) -->` is left out; the first block's `npm
// test` line is this test's own command and is left out too. Each block
// must end well and leave nothing new in /dev/shm.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, "utf8");

interface Block {
  line: number;
  script: string;
}

function shellBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```sh") continue;
    const end = lines.indexOf("```", i + 1);
    const skipped = /^<!-- readme-test: skip/.test(lines[i - 1] ?? "");
    if (!skipped) blocks.push({ line: i + 1, script: lines.slice(i + 1, end).filter((line) => !/^npm test\b/.test(line)).join("\n") });
    i = end;
  }
  return blocks;
}

const path = (process.env.PATH ?? "").split(":").filter((dir) => !dir.includes("node_modules/.bin")).join(":");
const segments = () => readdirSync("/dev/shm").filter((name) => name.startsWith("shmpipe."));

// What the blocks make outside the repository, as a reader's machine keeps it.
afterAll(() => {
  for (const made of ["/tmp/shmpipe-env", "/tmp/ticks.csv", "/tmp/ticks.csv.sums.json"]) rmSync(made, { recursive: true, force: true });
});

test("the README has its two commands first", () => {
  const first = shellBlocks(readme)[0]!;
  expect(readme.indexOf("```sh")).toBeLessThan(readme.indexOf("\n## "));
  expect(first.script.trim().startsWith("npm run demo")).toBe(true);
  expect(readme).toMatch(/^npm test +#/m);
});

for (const block of shellBlocks(readme)) {
  const title = block.script.split("\n")[0]!.replace(/ +#.*$/, "");
  test(`README line ${block.line}: ${title}`, () => {
    const before = segments();
    const run = Bun.spawnSync(["bash", "-euo", "pipefail", "-c", block.script], {
      cwd: root,
      env: { ...process.env, PATH: path },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(run.exitCode, `${block.script}\n--- output:\n${run.stdout}${run.stderr}`).toBe(0);
    expect(segments().filter((name) => !before.includes(name))).toEqual([]);
  }, 600_000);
}

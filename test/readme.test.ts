// The shell blocks of the README and of each language's reference
// (docs/typescript.md, python.md, go.md, r.md), run as written, one test
// each, from the repository's root, with a PATH as a newcomer has it
// (without node_modules/.bin: the docs say `npx bun`). A block after a
// comment `<!-- readme-test: skip (why) -->` is left out; the README's
// first block's `npm test` line is this test's own command and is left out
// too. Each block must end well and leave nothing new in /dev/shm.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, "utf8");
// The files whose shell blocks run, README first.
const documents = ["README.md", "docs/typescript.md", "docs/python.md", "docs/go.md", "docs/r.md"];

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
  for (const made of ["/tmp/shmpipe-env", "/tmp/shmpipe-py", "/tmp/ticks.csv", "/tmp/ticks.csv.sums.json"]) rmSync(made, { recursive: true, force: true });
});

test("the README has its two commands first", () => {
  const first = shellBlocks(readme)[0]!;
  expect(readme.indexOf("```sh")).toBeLessThan(readme.indexOf("\n## "));
  expect(first.script.trim().startsWith("npm run demo")).toBe(true);
  expect(readme).toMatch(/^npm test +#/m);
});

test("each language's reference has a shell block to run", () => {
  for (const document of documents.slice(1)) expect(shellBlocks(readFileSync(`${root}${document}`, "utf8")).length, document).toBeGreaterThan(0);
});

for (const { document, block } of documents.flatMap((document) =>
  shellBlocks(readFileSync(`${root}${document}`, "utf8")).map((block) => ({ document, block })))) {
  const title = block.script.split("\n")[0]!.replace(/ +#.*$/, "");
  test(`${document.replace(/\.md$/, "")} line ${block.line}: ${title}`, () => {
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

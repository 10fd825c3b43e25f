// Two real bun processes: a child writes a million records of random sizes
// through a 1 MiB ring; this process reads and checks every one.
import { expect, test } from "bun:test";
import { createReader } from "../lib/index.ts";
import { check, sizes } from "./fixtures/records.ts";
import { finished, spawnFixture, uniqueName } from "./helpers.ts";

const CAPACITY = 1 << 20;

test("1,000,000 records of random sizes arrive in order and intact", async () => {
  const name = uniqueName("stream");
  using reader = createReader(name, { capacity: CAPACITY });
  const writer = spawnFixture("stream-writer.ts", [name, "1000000", "7"]);
  const nextSize = sizes(7, CAPACITY - 64);
  let seq = 0;
  const problems: string[] = [];
  let empty = 0, large = 0, nearCapacity = 0;
  for await (const message of reader.messages({ timeoutMs: 20_000 })) {
    const length = nextSize();
    const problem = check(message.bytes, seq, length);
    if (problem && problems.length < 5) problems.push(problem);
    if (length === 0) empty++;
    if (length > 4096) large++;
    if (length > CAPACITY / 2) nearCapacity++;
    seq++;
  }
  await finished(writer);
  expect(problems).toEqual([]);
  expect(seq).toBe(1_000_000);
  // The mix the test promises actually occurred: wrap-around and padding
  // are forced by the records larger than half the ring.
  expect(empty).toBeGreaterThan(5_000);
  expect(large).toBeGreaterThan(20_000);
  expect(nearCapacity).toBeGreaterThan(50);
});

// Runs after every test file: nothing may be left in /dev/shm and no child
// process may still run, also when a test failed half-way.
import { afterAll, expect } from "bun:test";
import { killStragglers, leftoverSegments } from "./helpers.ts";

afterAll(() => {
  const stragglers = killStragglers();
  const segments = leftoverSegments();
  expect({ stragglers, segments }).toEqual({ stragglers: [], segments: [] });
});

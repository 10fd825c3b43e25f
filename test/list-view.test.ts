// List views (list_view, large_list_view) sent by pyarrow to a TypeScript
// reader. apache-arrow 21 cannot decode them (its Type enum knows tags 25
// and 26, its schema decoder does not): the reader must say so, naming the
// type, with an EARROW error, never crash; and a malformed list view is
// refused by the core's check, with its sentence, before apache-arrow sees
// it. (Python and Go read list views: ffi/python/tests/test_list_view.py,
// ffi/go/list_view_test.go.)
import { expect, test } from "bun:test";
import { ArrowReader, createReader, ShmpipeError } from "../lib/index.ts";
import { finished, spawnPython, uniqueName } from "./helpers.ts";

/** The Python helper that sends list views (ffi/python/tests/list_view_tables.py). */
const SENDER = "../../ffi/python/tests/list_view_tables.py";

/** The errors of up to `reads` reads, until end-of-stream (each must be a ShmpipeError, no read a batch). */
async function errorsOfReading(reader: ArrowReader, reads: number): Promise<ShmpipeError[]> {
  const errors: ShmpipeError[] = [];
  for (let i = 0; i < reads; i++) {
    try {
      const batch = await reader.read({ timeoutMs: 20_000 });
      if (batch === null) break;
      throw new Error(`apache-arrow decoded a batch of list views (${batch.schema.fields.map(String)}): update this test`);
    } catch (error) {
      if (!(error instanceof ShmpipeError)) throw error;
      errors.push(error);
    }
  }
  return errors;
}

test("Python → TypeScript: list views are an EARROW error naming the type, not a crash", async () => {
  const name = uniqueName("py-list-views");
  using reader = new ArrowReader(createReader(name, { capacity: 4 << 20 }));
  const python = spawnPython(SENDER, [name]);
  // Three batches: the whole table (after its schema), a slice, no rows.
  const errors = await errorsOfReading(reader, 8);
  await finished(python);
  expect(errors.length).toBe(4);
  for (const error of errors) expect(error.code).toBe("EARROW");
  expect(errors[0]!.message).toContain('Unrecognized type: "ListView" (25)');
});

// The batches after that schema are refused too, for the same reason: the
// decoder keeps why the stream's schema could not be loaded.
test("every batch of a stream whose schema apache-arrow refused names the type", async () => {
  const name = uniqueName("py-list-views-batches");
  using reader = new ArrowReader(createReader(name, { capacity: 4 << 20 }));
  const python = spawnPython(SENDER, [name]);
  const errors = await errorsOfReading(reader, 8);
  await finished(python);
  for (const error of errors) expect(error.message).toContain("ListView");
});

test("a malformed list view is refused by the core's check, with a sentence naming the field", async () => {
  const name = uniqueName("py-list-views-malformed");
  using reader = new ArrowReader(createReader(name, { capacity: 1 << 20 }));
  const python = spawnPython(SENDER, [name, "malformed"]);
  const errors = await errorsOfReading(reader, 8);
  const sentences: string[] = JSON.parse(await finished(python));
  expect(sentences.length).toBe(3);
  // The schema (apache-arrow's refusal), the three malformed batches (the
  // core's), then the good batch (the schema's refusal again).
  expect(errors.length).toBe(5);
  for (const error of errors) expect(error.code).toBe("EARROW");
  expect(errors[0]!.message).toContain("ListView");
  sentences.forEach((sentence, i) => expect(errors[i + 1]!.message).toContain(sentence));
  expect(errors[4]!.message).toContain("The apache-arrow package could not load the stream's schema");
  expect(errors[4]!.message).toContain("ListView");
});

// The R package with real processes: R writes data.frames that Python
// (pyarrow, the oracle) and TypeScript read; Go, Python and TypeScript
// write batches that R reads.
import { expect, test } from "bun:test";
import { finished, spawnPython, spawnR, uniqueName, waitForLine } from "./helpers.ts";

test("R → Python: pyarrow reads every column R wrote, NAs as nulls, value for value", async () => {
  const name = uniqueName("r-to-py");
  const python = spawnPython("arrow_to_json.py", [name]);
  await waitForLine(python, (line) => line === "ready");
  const r = spawnR("write_frames.R", [name]);
  expect((await finished(r)).trim()).toBe("written");
  const [first, second] = (await finished(python)).trim().split("\n").map((line) => JSON.parse(line));
  expect(first.schema).toEqual({
    price: ["double", { "shmpipe.r_na": "true" }],
    qty: ["int32", { "shmpipe.r_na": "true" }],
    ok: ["bool", {}],
    who: ["string", {}],
    symbol: ["dictionary<values=string, indices=int32, ordered=0>", {}],
    day: ["date32[day]", {}],
    at: ["timestamp[us, tz=Europe/Zurich]", {}],
  });
  expect(first.rows).toEqual([
    { price: 1.5, qty: 10, ok: true, who: "alpha", symbol: "MSFT", day: "2024-01-02", at: "1970-01-01 01:00:00+01:00" },
    { price: null, qty: null, ok: null, who: null, symbol: "AAPL", day: null, at: "1970-01-01 01:00:01.500000+01:00" },
    { price: -3.25, qty: 30, ok: false, who: "gamma é", symbol: null, day: "1969-12-31", at: null },
  ]);
  expect(second.rows.map((row: { price: number }) => row.price)).toEqual([-3.25, 1.5]);
});

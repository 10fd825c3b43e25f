// The conformance scenarios (scenarios.json) in TypeScript: what the Bun
// peer writes and checks, and what test/conformance.test.ts expects of
// every reader. The Python, Go and R peers hold their own few lines of the
// same rules: each language encodes the values itself.
import { Bool, type Data, type DataType, Dictionary, Field, Float64, Int32, Int64, List, makeData, makeVector, RecordBatch, Schema, Struct, TimestampMicrosecond, Type, Utf8, vectorFromArray, type Vector } from "apache-arrow";
import description from "./scenarios.json" with { type: "json" };

export type Column = {
  name: string; type: string; a?: number; b?: number; null?: number[]; prefix?: string; suffix?: string; suffixEvery?: number;
  words?: string[]; lengths?: number; fields?: Column[];
};
export type TableSpec = { batches: number[]; columns: Column[] };
export type Phase = { count: number; sizes: number[] };
export type Scenario = {
  kind: "bytes" | "arrow" | "late-join" | "writer-killed" | "reader-killed" | "table" | "table-persistent";
  capacity?: number;
  creator?: "reader";
  table?: string;
  phases?: Phase[];
  before?: number;
  after?: number;
  about: string;
};

export const tables = description.tables as Record<string, TableSpec>;
export const scenarios = description.scenarios as Record<string, Scenario>;

/** Byte j of record k. */
export const patternByte = (k: number, j: number) => (k * 131 + j) % 251;

/** Record k of the stream: its length from its phase, its bytes from the pattern. */
export function record(k: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (k * 131 + j) % 251;
  return bytes;
}

/** The length of each record of a bytes scenario, in order. */
export function recordSizes(phases: Phase[]): number[] {
  const sizes: number[] = [];
  for (const phase of phases) for (let i = 0; i < phase.count; i++) sizes.push(phase.sizes[sizes.length % phase.sizes.length]!);
  return sizes;
}

export type Value = number | string | boolean | null | Value[] | { [field: string]: Value };

/** The value of `column` at row r (null where the rule says). */
export function valueAt(column: Column, r: number): Value {
  if (column.null && r % column.null[0]! === column.null[1]) return null;
  switch (column.type) {
    case "int32": case "int64": case "float64": case "timestamp[us,UTC]":
      return column.a! * r + column.b!;
    case "utf8":
      return `${column.prefix}${r}${r % column.suffixEvery! === 0 ? column.suffix : ""}`;
    case "bool":
      return r % 2 === 0;
    case "dictionary<utf8>":
      return column.words![r % column.words!.length]!;
    case "list<int32>":
      return Array.from({ length: r % column.lengths! }, (_, i) => column.a! * r + column.b! + i);
  }
  if (column.type.startsWith("struct<")) return Object.fromEntries(column.fields!.map((field) => [field.name, valueAt(field, r)]));
  throw new Error(`scenarios.json: unknown column type ${column.type}`);
}

const arrowTypes = new Map<string, () => DataType>([
  ["int32", () => new Int32()], ["int64", () => new Int64()], ["float64", () => new Float64()], ["utf8", () => new Utf8()],
  ["bool", () => new Bool()], ["timestamp[us,UTC]", () => new TimestampMicrosecond("UTC")],
]);

function arrowType(column: Column, id: number): DataType {
  if (column.type === "dictionary<utf8>") return new Dictionary(new Utf8(), new Int32(), id);
  if (column.type === "list<int32>") return new List(new Field("item", new Int32(), true));
  if (column.type.startsWith("struct<")) return new Struct(column.fields!.map((field) => new Field(field.name, arrowType(field, id), true)));
  return arrowTypes.get(column.type)!();
}

/** The schema of a table (one dictionary id per dictionary column). */
export function schemaOf(spec: TableSpec): Schema {
  return new Schema(spec.columns.map((column, id) => new Field(column.name, arrowType(column, id), true)));
}

function validity(values: Value[]): Uint8Array {
  const bits = new Uint8Array((values.length + 7) >> 3);
  values.forEach((value, i) => { if (value !== null) bits[i >> 3]! |= 1 << (i & 7); });
  return bits;
}

/** Rows [from, from + count) of one column, encoded by apache-arrow. */
function dataOf(column: Column, type: DataType, from: number, count: number): Data {
  const values = Array.from({ length: count }, (_, i) => valueAt(column, from + i));
  const nullBitmap = validity(values);
  switch (column.type) {
    case "int32": return makeData({ type, length: count, nullBitmap, data: Int32Array.from(values, (v) => (v as number) ?? 0) } as never);
    case "float64": return makeData({ type, length: count, nullBitmap, data: Float64Array.from(values, (v) => (v as number) ?? 0) } as never);
    case "int64": case "timestamp[us,UTC]":
      return makeData({ type, length: count, nullBitmap, data: BigInt64Array.from(values, (v) => BigInt((v as number) ?? 0)) } as never);
    case "utf8": case "bool": return vectorFromArray(values, type).data[0]!;
    case "dictionary<utf8>": {
      const dictionary = vectorFromArray(column.words!, new Utf8());
      const codes = Int32Array.from({ length: count }, (_, i) => (from + i) % column.words!.length);
      return makeData({ type, length: count, nullBitmap, data: codes, dictionary } as never);
    }
    case "list<int32>": {
      const items = values.flatMap((v) => (v ?? []) as number[]);
      const valueOffsets = new Int32Array(count + 1);
      values.forEach((v, i) => { valueOffsets[i + 1] = valueOffsets[i]! + ((v ?? []) as number[]).length; });
      const child = makeData({ type: new Int32(), length: items.length, data: Int32Array.from(items) });
      return makeData({ type, length: count, nullBitmap, valueOffsets, child } as never);
    }
  }
  if (column.type.startsWith("struct<")) {
    const children = column.fields!.map((field, f) => dataOf(field, (type as Struct).children[f]!.type, from, count));
    return makeData({ type, length: count, children } as never);
  }
  throw new Error(`scenarios.json: unknown column type ${column.type}`);
}

/** Rows [from, from + count) of a table as one batch, encoded by apache-arrow. */
export function batchOf(spec: TableSpec, schema: Schema, from: number, count: number): RecordBatch {
  const children = spec.columns.map((column, c) => dataOf(column, schema.fields[c]!.type, from, count));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: count, children }));
}

/** The batches of a table as its spec splits them. */
export function batchesOf(spec: TableSpec): RecordBatch[] {
  const schema = schemaOf(spec);
  let from = 0;
  return spec.batches.map((rows) => { const batch = batchOf(spec, schema, from, rows); from += rows; return batch; });
}

/** The canonical name of an Arrow type, as every peer prints it ("?" + its own name if none). */
function typeName(type: DataType): string {
  switch (type.typeId) {
    case Type.Int: {
      const { bitWidth, isSigned } = type as unknown as { bitWidth: number; isSigned: boolean };
      return isSigned && bitWidth === 64 ? "int64" : isSigned && bitWidth === 32 ? "int32" : `?${type}`;
    }
    case Type.Float: return (type as Float64).precision === 2 ? "float64" : `?${type}`;
    case Type.Utf8: return "utf8";
    case Type.Bool: return "bool";
    case Type.Dictionary: return (type as Dictionary).dictionary.typeId === Type.Utf8 ? "dictionary<utf8>" : `?${type}`;
    case Type.Timestamp: {
      const t = type as TimestampMicrosecond;
      return t.unit === 2 ? `timestamp[us,${t.timezone ?? ""}]` : `?${type}`;
    }
    case Type.List: return `list<${typeName((type as List).children[0]!.type)}>`;
    case Type.Struct: return `struct<${(type as Struct).children.map((f) => `${f.name}:${typeName(f.type)}`).join(",")}>`;
  }
  return `?${type}`;
}

/** Row i of one chunk of a column, canonical (int64 and timestamps as numbers, lists as arrays, structs as objects). */
function valueOf(data: Data, i: number): Value {
  if (!data.getValid(i)) return null;
  const type = data.type as DataType;
  switch (type.typeId) {
    case Type.Int: case Type.Timestamp: {
      const raw = (data.values as ArrayLike<number | bigint>)[i]!; // (a slice's buffers are sliced already)
      return Number(raw);
    }
    case Type.List: {
      const offsets = data.valueOffsets as Int32Array;
      const child = data.children[0]!;
      const out: Value[] = [];
      for (let k = offsets[i]!; k < offsets[i + 1]!; k++) out.push(valueOf(child, k));
      return out;
    }
    case Type.Struct:
      return Object.fromEntries((type as Struct).children.map((field, f) => [field.name, valueOf(data.children[f]!, i)]));
  }
  return makeVector(data).get(i) as Value;
}

function valuesOf(vector: Vector): Value[] {
  return vector.data.flatMap((data) => Array.from({ length: data.length }, (_, i) => valueOf(data, i)));
}

export type ArrowResult = { batches: number[]; types: Record<string, string>; columns: Record<string, Value[]>; error: string | null };

/** The canonical result a reader prints: add each batch while it is held (the next read may release it). */
export function canonical(batches: RecordBatch[] = [], error: string | null = null): ArrowResult & { add(batch: RecordBatch): void } {
  const result: ArrowResult = { batches: [], types: {}, columns: {}, error };
  const add = (batch: RecordBatch) => {
    result.batches.push(batch.numRows);
    for (const field of batch.schema.fields) {
      const type = typeName(field.type);
      result.types[field.name] = type;
      (result.columns[field.name] ??= []).push(...valuesOf(batch.getChild(field.name)!));
    }
  };
  for (const batch of batches) add(batch);
  Object.defineProperty(result, "add", { value: add, enumerable: false });
  return result as ArrowResult & { add(batch: RecordBatch): void };
}

/** What every reader of a table must print. */
export function expectedTable(spec: TableSpec, batches: number[] = spec.batches): ArrowResult {
  const rows = spec.batches.reduce((a, b) => a + b, 0);
  return {
    batches,
    types: Object.fromEntries(spec.columns.map((c) => [c.name, c.type])),
    columns: Object.fromEntries(spec.columns.map((c) => [c.name, Array.from({ length: rows }, (_, r) => valueAt(c, r))])),
    error: null,
  };
}

/** A late-join scenario's seq checks, as every reader prints them. */
export type SeqResult = { batches: number; first: number | null; last: number | null; problems: number; error: string | null };

/** A bytes reader's result. */
export type BytesResult = { records: number; bytes: number; mismatches: number; error: string | null };

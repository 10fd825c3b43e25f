// Rows of Arrow data and byte records as text: a pretty table, JSON lines
// or CSV (RFC 4180). Values become plain JSON values first (bigints that
// fit as numbers, dates and timestamps as ISO 8601, binary as hex, nested
// values as JSON), so the three formats agree.
import { DataType, type RecordBatch, type Table } from "apache-arrow";
import { columns } from "./common.ts";

export type Format = "table" | "jsonl" | "csv";
export const FORMATS: Format[] = ["table", "jsonl", "csv"];
type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function plain(value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof Uint8Array) return hex(value);
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, plain);
  const object = value as { toArray?: () => unknown; toJSON?: () => unknown; [Symbol.iterator]?: unknown };
  if (typeof object[Symbol.iterator] === "function") return Array.from(value as Iterable<unknown>, plain); // a list's Vector
  if (typeof object.toJSON === "function") return plain(object.toJSON()); // a struct's or map's row
  return Object.fromEntries(Object.entries(value as object).map(([key, v]) => [key, plain(v)]));
}

/** A cell as JSON takes it, by its column's type. */
function cell(type: DataType, value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (DataType.isDate(type)) return new Date(Number(value)).toISOString().slice(0, 10);
  if (DataType.isTimestamp(type)) return new Date(Number(value)).toISOString();
  return plain(value);
}

/** The rows [from, from + count) of `data` as objects of plain values, by column name. */
export function records(data: RecordBatch | Table, from = 0, count = data.numRows): Record<string, Plain>[] {
  const fields = data.schema.fields;
  const vectors = fields.map((_, i) => data.getChildAt(i)!);
  const end = Math.min(data.numRows, from + count);
  const out: Record<string, Plain>[] = [];
  for (let row = from; row < end; row++) {
    const record: Record<string, Plain> = {};
    fields.forEach((field, i) => (record[field.name] = cell(field.type, vectors[i]!.get(row))));
    out.push(record);
  }
  return out;
}

/** A byte record as a row: its length, and its text if it is printable UTF-8, else hex (the first 32 bytes). */
export function byteRecord(index: number, bytes: Uint8Array): Record<string, Plain> {
  let text: string | null = null;
  try {
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(decoded)) text = decoded;
  } catch {}
  return text !== null
    ? { record: index, bytes: bytes.length, utf8: text, hex: null }
    : { record: index, bytes: bytes.length, utf8: null, hex: hex(bytes.subarray(0, 32)) + (bytes.length > 32 ? "..." : "") };
}

function text(value: Plain): string {
  if (value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function csvField(value: Plain): string {
  const s = text(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Prints rows in `format`. `header` says whether this is the first lot (the CSV and table headers). */
export function print(format: Format, names: string[], rows: Record<string, Plain>[], header: boolean): void {
  if (format === "jsonl") {
    for (const row of rows) console.log(JSON.stringify(row));
  } else if (format === "csv") {
    if (header) console.log(names.map((n) => csvField(n)).join(","));
    for (const row of rows) console.log(names.map((n) => csvField(row[n] ?? null)).join(","));
  } else {
    const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);
    const cells = rows.map((row) => names.map((n) => (row[n] === null ? "null" : clip(text(row[n]!)))));
    const right = names.map((n) => rows.length > 0 && rows.every((row) => typeof row[n] === "number" || row[n] === null));
    console.log(columns(names, cells, right));
  }
}

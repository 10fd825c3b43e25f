// Builds a record batch straight from the layout the C core hands over
// after its check (shmp_arrow_checker_layout: rows, then per field node its
// length and null count, per buffer its offset and length in the body),
// without decoding the flatbuffer again: a plan made once per schema walks
// the fields in pre-order and makes each column's apache-arrow Data as
// typed-array views of the body. Types the plan does not know (unions,
// views, list views, run-end encoded) go through apache-arrow's own
// VectorLoader, fed from the same layout.
import { Data, type DataType, type Field, RecordBatch, Schema, Struct, Type, type TypeMap, type Vector } from "apache-arrow";
import { VectorLoader } from "apache-arrow/visitor/vectorloader";
import { constant } from "../errors.ts";

/** Where the words of a layout are (enum shmp_arrow_layout in shmpipe.h). */
export const Word = {
  KIND: constant("LAYOUT_KIND"),
  PREFIX_LENGTH: constant("LAYOUT_PREFIX_LENGTH"),
  BODY_LENGTH: constant("LAYOUT_BODY_LENGTH"),
  ROWS: constant("LAYOUT_ROWS"),
  NODES: constant("LAYOUT_NODES"),
  BUFFERS: constant("LAYOUT_BUFFERS"),
  VARIADIC: constant("LAYOUT_VARIADIC"),
  HEADER: constant("LAYOUT_HEADER"),
} as const;

/** The int64 words of a layout, read as numbers (every value the check let through is below 2^53). */
export class Layout {
  words = new BigInt64Array(64);
  halves = new Int32Array(this.words.buffer);

  word(i: number): number {
    return (this.halves[2 * i]! >>> 0) + this.halves[2 * i + 1]! * 4294967296;
  }

  grow(words: number): void {
    this.words = new BigInt64Array(words);
    this.halves = new Int32Array(this.words.buffer);
  }
}

/** A zero-length bitmap for columns without nulls (apache-arrow replaces it, never writes into it). */
const NO_BITMAP = new Uint8Array(0);

type TypedArrayConstructor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): ArrayBufferView; new (length: number): ArrayBufferView; readonly BYTES_PER_ELEMENT: number };

/** The state of one walk through a layout. */
class Cursor {
  layout!: Layout;
  buffer!: ArrayBuffer;
  /** Where the body starts in `buffer`. */
  base = 0;
  node = 0;
  /** Word index of the next buffer's offset. */
  bufferAt = 0;
  dictionaries!: Map<number, Vector>;

  /** The null count of the field node nextNode() moved to. */
  nullCount = 0;

  /** Moves to the next field node; its length (and its null count in `nullCount`). */
  nextNode(): number {
    const at = Word.HEADER + 2 * this.node++;
    this.nullCount = this.layout.word(at + 1);
    return this.layout.word(at);
  }

  /** The next buffer, viewed as `Ctor` (as apache-arrow's makeData views it). */
  view(Ctor: TypedArrayConstructor): any {
    const offset = this.layout.word(this.bufferAt), length = this.layout.word(this.bufferAt + 1);
    this.bufferAt += 2;
    return length <= 0 ? new Ctor(0) : new Ctor(this.buffer, this.base + offset, Math.floor(length / Ctor.BYTES_PER_ELEMENT));
  }

  bitmap(nullCount: number): Uint8Array {
    if (nullCount <= 0) {
      this.bufferAt += 2;
      return NO_BITMAP;
    }
    return this.view(Uint8Array);
  }
}

type Step = (cursor: Cursor) => Data;

/** The step that makes one field's Data, or null if the plan does not know its type. */
function step(type: DataType): Step | null {
  switch (type.typeId) {
    case Type.Null:
      return (c) => {
        const length = c.nextNode();
        return new Data(type, 0, length, length);
      };
    case Type.Int: case Type.Float: case Type.Bool: case Type.Decimal: case Type.Date: case Type.Time:
    case Type.Timestamp: case Type.Interval: case Type.Duration: case Type.FixedSizeBinary: {
      const Values = type.ArrayType as TypedArrayConstructor;
      return (c) => {
        const length = c.nextNode(), nullCount = c.nullCount;
        const nullBitmap = c.bitmap(nullCount);
        return new Data(type, 0, length, nullCount, [undefined, c.view(Values), nullBitmap] as never);
      };
    }
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: {
      const Offsets = (type.typeId === Type.Utf8 || type.typeId === Type.Binary ? Int32Array : BigInt64Array) as TypedArrayConstructor;
      return (c) => {
        const length = c.nextNode(), nullCount = c.nullCount;
        const nullBitmap = c.bitmap(nullCount);
        const offsets = c.view(Offsets);
        return new Data(type, 0, length, nullCount, [offsets, c.view(Uint8Array as never), nullBitmap] as never);
      };
    }
    case Type.List: case Type.LargeList: case Type.Map: {
      const Offsets = (type.typeId === Type.LargeList ? BigInt64Array : Int32Array) as TypedArrayConstructor;
      const child = step((type.children[0] as Field).type);
      if (child === null) return null;
      return (c) => {
        const length = c.nextNode(), nullCount = c.nullCount;
        const nullBitmap = c.bitmap(nullCount);
        const offsets = c.view(Offsets);
        return new Data(type, 0, length, nullCount, [offsets, undefined, nullBitmap] as never, [child(c)]);
      };
    }
    case Type.FixedSizeList: case Type.Struct: {
      const children = type.children.map((field: Field) => step(field.type));
      if (children.some((child: Step | null) => child === null)) return null;
      return (c) => {
        const length = c.nextNode(), nullCount = c.nullCount;
        const nullBitmap = c.bitmap(nullCount);
        const data = new Array<Data>(children.length);
        for (let i = 0; i < children.length; i++) data[i] = (children[i] as Step)(c);
        return new Data(type, 0, length, nullCount, [undefined, undefined, nullBitmap] as never, data);
      };
    }
    case Type.Dictionary: {
      const Indices = (type as any).indices.ArrayType as TypedArrayConstructor;
      const id = (type as any).id as number;
      return (c) => {
        const length = c.nextNode(), nullCount = c.nullCount;
        const nullBitmap = c.bitmap(nullCount);
        return new Data(type, 0, length, nullCount, [undefined, c.view(Indices), nullBitmap] as never, [], c.dictionaries.get(id));
      };
    }
    default:
      return null; // unions, views, list views, run-end encoded: apache-arrow's loader
  }
}

/**
 * apache-arrow's RecordBatch constructor clones the schema and every field
 * for each batch (to make lengths agree, which the check has made sure of).
 * A batch is made as the constructor would leave it, without the clones,
 * when this version of apache-arrow keeps exactly these fields; otherwise
 * through the constructor.
 */
const direct = (() => {
  const probe = new RecordBatch(new Schema([]), new Data(new Struct([]), 0, 0, 0));
  return Object.keys(probe).sort().join() === "_metadata,data,schema";
})();

function LoadedBatch(this: any, schema: Schema, data: Data) {
  this.schema = schema;
  this.data = data;
  this._metadata = new Map();
}
LoadedBatch.prototype = RecordBatch.prototype;

function recordBatch<T extends TypeMap>(schema: Schema<T>, data: Data<Struct<T>>): RecordBatch<T> {
  return direct ? new (LoadedBatch as any)(schema, data) : new RecordBatch(schema, data);
}

/** How to build the batches of one schema; made once per stream. */
export class BatchPlan<T extends TypeMap = any> {
  readonly #steps: Step[] | null;
  readonly #type: Struct<T>;
  readonly #cursor = new Cursor();

  constructor(readonly schema: Schema<T>) {
    const steps = schema.fields.map((field) => step(field.type));
    this.#steps = steps.some((s) => s === null) ? null : (steps as Step[]);
    this.#type = new Struct(schema.fields);
  }

  /** True if batches are built by the plan's own steps (not apache-arrow's VectorLoader). */
  get planned(): boolean {
    return this.#steps !== null;
  }

  /** The batch `layout` describes, its columns viewing the body at `base` in `buffer`. */
  load(layout: Layout, buffer: ArrayBuffer, base: number, dictionaries: Map<number, Vector>): RecordBatch<T> {
    const rows = layout.word(Word.ROWS);
    const nodes = layout.word(Word.NODES);
    let children: Data[];
    if (this.#steps !== null) {
      const c = this.#cursor;
      c.layout = layout;
      c.buffer = buffer;
      c.base = base;
      c.node = 0;
      c.bufferAt = Word.HEADER + 2 * nodes;
      c.dictionaries = dictionaries;
      const steps = this.#steps;
      children = new Array(steps.length);
      for (let i = 0; i < steps.length; i++) children[i] = steps[i]!(c);
    } else {
      children = loadWithVectorLoader(this.schema, layout, new Uint8Array(buffer, base, layout.word(Word.BODY_LENGTH)), dictionaries);
    }
    return recordBatch(this.schema, new Data(this.#type, 0, rows, 0, [undefined, undefined, NO_BITMAP] as never, children));
  }
}

/** apache-arrow's own loader, fed from the core's layout instead of the flatbuffer. */
function loadWithVectorLoader(schema: Schema, layout: Layout, body: Uint8Array, dictionaries: Map<number, Vector>): Data[] {
  const nodes = layout.word(Word.NODES), buffers = layout.word(Word.BUFFERS), variadic = layout.word(Word.VARIADIC);
  const nodeList = [], bufferList = [], counts = [];
  let at = Word.HEADER;
  for (let i = 0; i < nodes; i++, at += 2) nodeList.push({ length: layout.word(at), nullCount: layout.word(at + 1) });
  for (let i = 0; i < buffers; i++, at += 2) bufferList.push({ offset: layout.word(at), length: layout.word(at + 1) });
  for (let i = 0; i < variadic; i++, at++) counts.push(layout.word(at));
  return new VectorLoader(body, nodeList as never, bufferList as never, dictionaries, schema.metadataVersion, counts).visitMany(schema.fields);
}

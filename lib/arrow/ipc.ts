// Arrow IPC encapsulated messages laid out for shared memory, on top of
// apache-arrow's own metadata encoder and buffer walkers:
//
//   0xFFFFFFFF | int32 metadata length | flatbuffer Message, zero padded |
//   body: every buffer at a 64-byte boundary, zero padded
//
// The record payload itself starts on a 64-byte boundary, so every buffer
// is 64-byte aligned in memory and can be viewed as a typed array in place.
// Encoding only plans the layout (no copy); writeMessage() copies each
// column buffer once, straight into the claimed record. MessageStream
// decides which messages a stream of batches takes, for ArrowWriter and
// publish() alike.
import { Data, DataType, makeData, RecordBatch, type Schema, Struct, Table, Type, type TypeMap, util, Vector } from "apache-arrow";
import {
  BufferRegion,
  DictionaryBatch as DictionaryBatchHeader,
  FieldNode,
  Message,
  RecordBatch as RecordBatchHeader,
} from "apache-arrow/ipc/metadata/message";
import { VectorAssembler } from "apache-arrow/visitor/vectorassembler";
import { VectorLoader } from "apache-arrow/visitor/vectorloader";

const ALIGN = 64;
const CONTINUATION = 0xffffffff;
/**
 * A buffer this large is copied by the core when writeMessage() is given a
 * `fill` (Writer.fill: through the file of a table being published, which
 * spares a page fault per 4 KiB page); a smaller one costs less copied
 * here than a call into the core. As Python's writer does.
 */
const CORE_COPY = 1 << 16;

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** A message ready to be written: its size is known before any byte moves. */
export interface Encoded {
  /** Bytes the whole message takes in a record. */
  readonly byteLength: number;
  readonly prefixLength: number;
  readonly metadata: Uint8Array;
  readonly buffers: readonly ArrayBufferView[];
  readonly regions: readonly BufferRegion[];
  readonly bodyLength: number;
}

function encoded(header: Schema | RecordBatchHeader | DictionaryBatchHeader, buffers: ArrayBufferView[] = [], regions: BufferRegion[] = [], bodyLength = 0): Encoded {
  const metadata = Message.encode(Message.from(header, bodyLength));
  const prefixLength = align(8 + metadata.byteLength);
  return { byteLength: prefixLength + bodyLength, prefixLength, metadata, buffers, regions, bodyLength };
}

/** Arrays in the order the assembler lists their field nodes. */
function* preorder(data: readonly Data[]): Generator<Data> {
  for (const d of data) {
    yield d;
    yield* preorder(d.children);
  }
}

/**
 * apache-arrow reports a null count of -1 ("not counted yet") for a sliced
 * array without a validity bitmap and writes it as is; the format wants the
 * count: 0 without a bitmap, all of them for the Null type.
 */
function countedNodes(nodes: FieldNode[], data: readonly Data[]): FieldNode[] {
  if (nodes.every((node) => node.nullCount >= 0)) return nodes;
  const arrays = [...preorder(data)];
  return nodes.map((node, i) => node.nullCount >= 0 ? node : new FieldNode(node.length, arrays[i]?.typeId === Type.Null ? node.length : 0));
}

/** Lays the buffers of `data` out at 64-byte boundaries. */
function assemble(data: RecordBatch | Vector): { header: (length: number) => RecordBatchHeader; buffers: ArrayBufferView[]; regions: BufferRegion[]; bodyLength: number } {
  const assembled = VectorAssembler.assemble(data);
  const nodes = countedNodes(assembled.nodes, data instanceof RecordBatch ? data.data.children : data.data);
  const regions: BufferRegion[] = [];
  let bodyLength = 0;
  for (const buffer of assembled.buffers) {
    regions.push(new BufferRegion(bodyLength, buffer.byteLength));
    bodyLength = align(bodyLength + buffer.byteLength);
  }
  const header = (length: number) => new RecordBatchHeader(length, nodes, regions, null, assembled.variadicBufferCounts);
  return { header, buffers: assembled.buffers, regions, bodyLength };
}

export function encodeSchema(schema: Schema): Encoded {
  return encoded(schema);
}

export function encodeRecordBatch(batch: RecordBatch): Encoded {
  const { header, buffers, regions, bodyLength } = assemble(batch);
  return encoded(header(batch.numRows), buffers, regions, bodyLength);
}

export function encodeDictionary(dictionary: Data, id: number, isDelta: boolean): Encoded {
  const { header, buffers, regions, bodyLength } = assemble(new Vector([dictionary]));
  return encoded(new DictionaryBatchHeader(header(dictionary.length), id, isDelta), buffers, regions, bodyLength);
}

/** What a stream sent of one dictionary: its vector, and how many of its chunks. */
interface SentDictionary {
  vector: Vector;
  chunks: number;
}

/**
 * Which messages a stream of batches takes, by the rule of apache-arrow's
 * stream writer: the schema when it is new or changed; each dictionary
 * when it is new, whole again when its first chunk is not the one sent,
 * and the chunks added to it since as deltas. The stream remembers what it
 * sent: write each message that messages() yields before asking for the
 * next (it counts a message as sent only then; stop at a failure, and the
 * message that failed counts as not sent).
 */
export class MessageStream {
  #schema: Schema | null = null;
  readonly #dictionaries = new Map<number, SentDictionary>();

  /**
   * The messages of a batch, or of the batches of a table that have rows
   * (a table without rows takes its schema alone). `schemaOwed` says
   * whether the schema and every dictionary are owed again (the core
   * decides: a reader joined mid-stream, a message failed); it is asked
   * before each batch.
   */
  *messages(data: RecordBatch | Table, schemaOwed: () => boolean = () => false): Generator<Encoded> {
    yield* this.#schemaMessage(data.schema, schemaOwed);
    if (data instanceof Table) {
      for (const batch of data.batches) if (batch.numRows > 0) yield* this.messages(batch, schemaOwed);
      return;
    }
    yield* this.#dictionaryMessages(data);
    yield encodeRecordBatch(data);
  }

  *#schemaMessage(schema: Schema, schemaOwed: () => boolean): Generator<Encoded> {
    // Owed: the schema and every dictionary again; those already reading take them as a replacement of equals.
    if (schemaOwed()) this.#schema = null;
    if (this.#schema === schema || (this.#schema !== null && util.compareSchemas(this.#schema, schema))) return;
    yield encodeSchema(schema);
    this.#schema = schema;
    this.#dictionaries.clear();
  }

  *#dictionaryMessages(batch: RecordBatch): Generator<Encoded> {
    for (const [id, vector] of dictionariesOf(batch)) {
      const chunks: readonly Data[] = vector?.data ?? [];
      const sent = this.#dictionaries.get(id);
      const from = sent && sent.vector.data[0] === chunks[0] ? sent.chunks : 0;
      for (let i = from; i < chunks.length; i++) yield encodeDictionary(chunks[i]!, id, i > 0);
      this.#dictionaries.set(id, { vector, chunks: chunks.length });
    }
  }
}

/**
 * The dictionaries a batch's columns use, by id. apache-arrow's own
 * `batch.dictionaries` misses those of a batch made from vectors
 * (`new RecordBatch({ label: vectorFromArray([...]) })`): they are found in
 * the columns' data then.
 */
function dictionariesOf(batch: RecordBatch): Map<number, Vector> {
  const found = new Map(batch.dictionaries);
  const visit = (type: DataType, data: Data | undefined): void => {
    if (data === undefined) return;
    if (DataType.isDictionary(type) && data.dictionary && !found.has(type.id)) found.set(type.id, data.dictionary);
    type.children?.forEach((child, i) => visit(child.type, data.children[i]));
  };
  batch.schema.fields.forEach((field, i) => visit(field.type, batch.data.children[i]));
  return found;
}

/** Every message of a table, as an ArrowWriter sends them on a new stream (and publish() writes them). */
export function encodeTable(table: Table): Encoded[] {
  return [...new MessageStream().messages(table)];
}

/**
 * Writes an encoded message into `target` (at least `message.byteLength`
 * bytes). With `fill`, each buffer of at least CORE_COPY bytes goes in
 * through it instead (Writer.fill, `at` bytes into `target`); the framing,
 * the metadata, small buffers and the zeroed padding through `target`.
 */
export function writeMessage(message: Encoded, target: Uint8Array, fill?: (at: number, bytes: Uint8Array) => void): void {
  const { prefixLength, metadata } = message;
  const metadataLength = prefixLength - 8;
  target[0] = target[1] = target[2] = target[3] = CONTINUATION & 0xff;
  target[4] = metadataLength & 0xff;
  target[5] = (metadataLength >>> 8) & 0xff;
  target[6] = (metadataLength >>> 16) & 0xff;
  target[7] = metadataLength >>> 24;
  target.set(metadata, 8);
  target.fill(0, 8 + metadata.byteLength, prefixLength);
  let end = prefixLength;
  message.buffers.forEach((buffer, i) => {
    const at = prefixLength + message.regions[i]!.offset;
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    target.fill(0, end, at);
    if (fill && bytes.byteLength >= CORE_COPY) fill(at, bytes);
    else target.set(bytes, at);
    end = at + buffer.byteLength;
  });
  target.fill(0, end, prefixLength + message.bodyLength);
}

/** A message's decoded metadata; `prefix` is a private copy of its first bytes. */
export function decodeMetadata(prefix: Uint8Array): Message {
  return Message.decode(prefix.subarray(8));
}

/**
 * The record batch a checked message describes, its columns viewing `body`
 * where it lies (apache-arrow's loader takes subarrays, never copies).
 */
export function loadRecordBatch<T extends TypeMap>(schema: Schema<T>, header: RecordBatchHeader, body: Uint8Array, dictionaries: Map<number, Vector>): RecordBatch<T> {
  const children = new VectorLoader(body, header.nodes, header.buffers, dictionaries, schema.metadataVersion, header.variadicBufferCounts).visitMany(schema.fields);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: header.length, children }));
}

/** A dictionary batch's values, appended to the previous ones if it is a delta. */
export function loadDictionary(schema: Schema, header: DictionaryBatchHeader, body: Uint8Array, dictionaries: Map<number, Vector>): Vector {
  const type = schema.dictionaries.get(header.id)!;
  const data = new VectorLoader(body, header.data.nodes, header.data.buffers, dictionaries, schema.metadataVersion, header.data.variadicBufferCounts).visitMany([type]);
  const previous = dictionaries.get(header.id);
  return (previous && header.isDelta ? previous.concat(new Vector(data)) : new Vector(data)).memoize();
}

/** Arrow data whose buffers are private copies: it stays valid after its record is released. */
export function copyData<T extends Data>(data: T): T {
  const buffers = [data.valueOffsets?.slice(), data.values?.slice(), data.nullBitmap?.slice(), data.typeIds?.slice()];
  // Dictionaries are private already: the reader copies dictionary batches.
  return new Data(
    data.type, data.offset, data.length, data.nullCount, buffers as never,
    data.children.map(copyData), data.dictionary, data.variadicBuffers.map((buffer) => buffer.slice()),
  ) as T;
}

/** A record batch in memory of your own, to keep after its record is released. */
export function copyBatch<T extends TypeMap>(batch: RecordBatch<T>): RecordBatch<T> {
  return new RecordBatch(batch.schema, copyData(batch.data));
}

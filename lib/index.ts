// shmpipe: hand records between processes through POSIX shared memory.
export { createReader, createWriter, openReader, openWriter } from "./channel.ts";
export { Writer } from "./writer.ts";
export { type BatchOptions, COPY_BELOW, DEFAULT_BATCH_RECORDS, Message, Reader } from "./reader.ts";
export { Batch } from "./batch.ts";
export { ShmpipeError, type Operation } from "./errors.ts";
export { type CreateOptions, DEFAULT_CAPACITY, type OpenOptions, NAME_PREFIX, shmPath, unlink } from "./segment.ts";
export { DEFAULT_READY_TIMEOUT_MS, DEFAULT_SPIN, DEFAULT_TIMEOUT_MS, SPIN_FOREVER, type WaitOptions } from "./options.ts";
export { ArrowWriter } from "./arrow/writer.ts";
export { ArrowReader } from "./arrow/reader.ts";
export { copyBatch } from "./arrow/ipc.ts";
export { openTable, publish, type PublishOptions, PublishedTable, unpublish } from "./arrow/table.ts";
export * from "./pipeline/index.ts";
export { collectGarbage, list, type Peer, remove, type SegmentStat, stat, survey, type Survey } from "./inspect.ts";
export { consume, type Received } from "./consume.ts";

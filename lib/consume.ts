// Reading a channel whose records a tool does not know in advance (shmpipe
// cat --consume): Arrow IPC messages become record batches, checked by the
// core and decoded by apache-arrow exactly as ArrowReader does them; any
// other record is handed over as bytes.
import type { RecordBatch } from "apache-arrow";
import { MessageDecoder } from "./arrow/decoder.ts";
import type { WaitOptions } from "./options.ts";
import type { Reader } from "./reader.ts";

/** One record: a batch (valid until the next is asked for), or bytes (likewise; copy to keep). */
export type Received = { kind: "batch"; batch: RecordBatch } | { kind: "bytes"; bytes: Uint8Array };

/** An encapsulated Arrow IPC message starts with the continuation marker 0xFFFFFFFF. */
function looksLikeArrow(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
}

/**
 * The records of `reader` until the end of the stream: batches for Arrow
 * messages (schema and dictionaries are taken in on the way; a reader that
 * joined mid-stream skips batches until the writer sends the schema again),
 * bytes for anything else. A message that starts like Arrow but fails the
 * core's check is an EARROW error naming the channel and the fault.
 */
export async function* consume(reader: Reader, options: WaitOptions = { timeoutMs: Infinity }): AsyncGenerator<Received> {
  using decoder = new MessageDecoder(reader.name, true, "recv");
  for await (const message of reader.messages(options)) {
    if (!looksLikeArrow(message.bytes)) {
      yield { kind: "bytes", bytes: message.bytes };
      continue;
    }
    const batch = decoder.decode(message.bytes, reader._handle);
    if (batch) yield { kind: "batch", batch };
  }
}

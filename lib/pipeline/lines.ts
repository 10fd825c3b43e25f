// A child's output, line by line, as it comes (a last line without a
// newline is still a line), and the tail of it kept for error messages.

/** Calls `each` for every line of `stream`; resolves when the stream ends. */
export async function eachLine(stream: AsyncIterable<Uint8Array>, each: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = pending.indexOf("\n")) >= 0) {
      each(pending.slice(0, at).replace(/\r$/, ""));
      pending = pending.slice(at + 1);
    }
  }
  pending += decoder.decode();
  if (pending) each(pending);
}

/** The last `size` lines given to `push`. */
export class Tail {
  readonly #lines: string[] = [];
  constructor(readonly size = 20) {}

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.size) this.#lines.shift();
  }

  get lines(): string[] {
    return [...this.#lines];
  }
}

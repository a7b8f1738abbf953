/** What a decoder returns: all it produced, whether it stopped at its cap, and why it failed if it did. */
export interface Decoded {
  /** The output, or as much as could be decoded before an error (never more than the cap). */
  readonly data: Buffer;
  /** True when the stream would have produced more than the cap; `data` is then not to be used. */
  readonly over: boolean;
  readonly error?: string;
}

/**
 * Collects decoder output up to a cap fixed before decoding starts, so a bomb costs at most the cap
 * in memory. Chunks are copied: decoders reuse their output buffers.
 */
export class Sink {
  private readonly chunks: Buffer[] = [];
  length = 0;
  over = false;

  constructor(readonly cap: number) {}

  /** Append `bytes`; false (and `over` set) when that would pass the cap. */
  push(bytes: Uint8Array): boolean {
    if (this.length + bytes.length > this.cap) {
      this.over = true;
      return false;
    }
    if (bytes.length > 0) this.chunks.push(Buffer.from(bytes));
    this.length += bytes.length;
    return true;
  }

  /** Everything pushed, as one buffer. */
  data(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0]!;
    return Buffer.concat(this.chunks, this.length);
  }

  done(error?: string): Decoded {
    if (this.over) return { data: Buffer.alloc(0), over: true };
    return error === undefined
      ? { data: this.data(), over: false }
      : { data: this.data(), over: false, error };
  }
}

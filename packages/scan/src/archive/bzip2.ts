import { createRequire } from 'node:module';
import { Sink, type Decoded } from './sink.ts';

/**
 * bzip2 through seek-bzip, which pulls input and pushes output one byte at a time through objects we
 * give it. That lets us stop at the cap from inside the decoder, and end a truncated stream at the
 * last byte instead of letting it read `undefined` past the end as its own buffer wrapper would.
 */

interface ByteInput {
  readByte(): number;
  read(into: Uint8Array, at: number, length: number): number;
  eof(): boolean;
}

interface ByteOutput {
  writeByte(byte: number): void;
}

interface SeekBzip {
  decode(input: ByteInput, output: ByteOutput, multistream: boolean): unknown;
}

const bunzip = createRequire(import.meta.url)('seek-bzip') as SeekBzip;

// Thrown through the decoder from our callbacks, and told apart from its own errors by identity.
const PAST_END = new Error('past the end of the input');
const OVER_CAP = new Error('output cap reached');

const CHUNK = 64 * 1024;

/** Decode every concatenated bzip2 stream in `input` (as pbzip2 writes them), at most `cap` bytes. */
export function bunzip2(input: Buffer, cap: number): Decoded {
  const sink = new Sink(cap);
  // The sink copies what it is given, so one chunk is reused for the whole stream.
  const chunk = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(cap, 1)));
  let used = 0;
  const flush = (): void => {
    sink.push(chunk.subarray(0, used));
    used = 0;
  };
  let pos = 0;
  const source: ByteInput = {
    readByte: () => {
      if (pos >= input.length) throw PAST_END;
      return input[pos++]!;
    },
    read: (into, at, length) => {
      const n = Math.min(length, input.length - pos);
      if (n <= 0) return -1;
      into.set(input.subarray(pos, pos + n), at);
      pos += n;
      return n;
    },
    eof: () => pos >= input.length,
  };
  const target: ByteOutput = {
    writeByte: (byte) => {
      if (sink.length + used >= cap) {
        sink.over = true;
        throw OVER_CAP;
      }
      if (used === chunk.length) flush();
      chunk[used++] = byte;
    },
  };
  try {
    bunzip.decode(source, target, true);
    flush();
    return sink.done();
  } catch (err) {
    if (err === OVER_CAP) return sink.done();
    flush();
    if (err === PAST_END) return sink.done('truncated');
    return sink.done((err as Error).message);
  }
}

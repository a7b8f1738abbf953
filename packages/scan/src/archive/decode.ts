import { bunzip2 } from './bzip2.ts';
import { gunzip } from './inflate.ts';
import type { Decoded } from './sink.ts';
import type { CompressionFormat } from './sniff.ts';
import { unxz } from './xz.ts';
import { unzstd } from './zstd.ts';

export type { Decoded } from './sink.ts';

const DECODERS: Record<CompressionFormat, (input: Buffer, cap: number) => Decoded> = {
  gzip: gunzip,
  xz: unxz,
  bzip2: bunzip2,
  zstd: unzstd,
};

/** Decompress a whole stream of a known format, producing at most `cap` bytes. */
export function decompress(format: CompressionFormat, input: Buffer, cap: number): Decoded {
  return DECODERS[format](input, cap);
}

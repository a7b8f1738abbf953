export type ArchiveFormat = 'tar' | 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'zip' | 'ar' | 'deb' | 'cpio';

/** The formats that wrap one byte stream rather than holding named members. */
export type CompressionFormat = 'gzip' | 'xz' | 'bzip2' | 'zstd';

export function isCompression(f: ArchiveFormat): f is CompressionFormat {
  return f === 'gzip' || f === 'xz' || f === 'bzip2' || f === 'zstd';
}

function startsWith(buf: Uint8Array, at: number, bytes: readonly number[]): boolean {
  if (at + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const AR = ascii('!<arch>\n');
const DEB_FIRST = ascii('debian-binary');
const USTAR = ascii('ustar');
// bzip2 streams go on with the block magic (pi) or, when empty, the end-of-stream magic (sqrt pi).
const BZ_BLOCK = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const BZ_END = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];

/**
 * The archive or compression format of `buf`, judged by magic bytes only (never by name, which an
 * attacker or a careless build picks). Plain v7 tar, which has no magic, is recognised by a valid
 * header checksum.
 */
export function sniffArchive(buf: Uint8Array): ArchiveFormat | undefined {
  if (buf[0] === 0x1f && buf[1] === 0x8b && buf[2] === 8) return 'gzip';
  if (startsWith(buf, 0, XZ)) return 'xz';
  if (startsWith(buf, 0, ZSTD)) return 'zstd';
  if (buf[0] === 0x42 && buf[1] === 0x5a && buf[2] === 0x68 && buf[3]! >= 0x31 && buf[3]! <= 0x39) {
    if (startsWith(buf, 4, BZ_BLOCK) || startsWith(buf, 4, BZ_END)) return 'bzip2';
  }
  if (buf[0] === 0x50 && buf[1] === 0x4b) {
    if ((buf[2] === 3 && buf[3] === 4) || (buf[2] === 5 && buf[3] === 6)) return 'zip';
  }
  if (startsWith(buf, 0, AR)) {
    const after = buf[8 + DEB_FIRST.length];
    if (startsWith(buf, 8, DEB_FIRST) && (after === 0x20 || after === 0x2f)) return 'deb';
    return 'ar';
  }
  if (startsWith(buf, 0, ascii('07070')) && (buf[5] === 0x31 || buf[5] === 0x32 || buf[5] === 0x37)) {
    return 'cpio';
  }
  if (buf.length >= 512 && (startsWith(buf, 257, USTAR) || tarChecksumOk(buf, 0))) return 'tar';
  return undefined;
}

/**
 * Whether the 512-byte tar header at `at` carries a correct checksum: the sum of its bytes with the
 * checksum field itself counted as spaces. Old writers summed signed bytes, so that sum is accepted too.
 */
export function tarChecksumOk(buf: Uint8Array, at: number): boolean {
  if (at + 512 > buf.length) return false;
  let stored = 0;
  let digits = 0;
  let i = at + 148;
  while (i < at + 156 && buf[i] === 0x20) i++;
  for (; i < at + 156; i++) {
    const c = buf[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return false;
    stored = stored * 8 + (c - 0x30);
    digits++;
  }
  if (digits === 0) return false;
  let unsigned = 0;
  let signed = 0;
  for (let j = 0; j < 512; j++) {
    const c = j >= 148 && j < 156 ? 0x20 : buf[at + j]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  // An all-zero block has no checksum digits, so it never gets here; the end marker is not a header.
  return stored === unsigned || stored === signed;
}

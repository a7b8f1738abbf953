import { createHash } from 'node:crypto';
import { parseAlgorithmIdentifier } from './algorithm.ts';
import { checkDepth, expectTag, hex, latin1, readOid, readOne, seq, Tag } from './der.ts';
import { CoreError, malformed } from './error.ts';
import { HASH_ALGORITHMS } from './oid.ts';

/**
 * PE/COFF (PE32 and PE32+) headers, the attribute certificate table and the Authenticode image
 * digest. Layouts are from Microsoft's "PE Format" specification; the digest follows "Windows
 * Authenticode Portable Executable Signature Format" (Authenticode_PE.docx), whose numbered steps
 * the comments in authenticodeDigest cite. Every offset read is checked against the buffer first.
 */

export interface PeSection {
  name: string;
  virtualAddress: number;
  rawSize: number;
  rawOffset: number;
}

export interface WinCertificate {
  /** File offset of the WIN_CERTIFICATE header. */
  offset: number;
  /** dwLength: header plus bCertificate, as the entry claims it (signers often include padding). */
  length: number;
  revision: number;
  type: number;
  /** bCertificate range (PKCS#7 SignedData for type 2); may end in zero padding after the DER. */
  data: { start: number; end: number };
}

export interface PeImage {
  machine: number;
  machineName: string;
  subsystem: number;
  is64: boolean;
  /** SizeOfHeaders: the header bytes the digest covers (step 8 of the Authenticode steps). */
  sizeOfHeaders: number;
  sections: PeSection[];
  checksumOffset: number;
  /** File offset of the Certificate Table data-directory entry; -1 when the image has fewer than five directories. */
  certTableDirOffset: number;
  certTable?: { offset: number; size: number };
  /** WIN_CERTIFICATE entries in the attribute certificate table */
  certificates: WinCertificate[];
}

export const WIN_CERT_TYPE_X509 = 0x0001;
export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
export const WIN_CERT_TYPE_EFI_GUID = 0x0ef1;

export const PE_SUBSYSTEM_EFI_APPLICATION = 10;

const MACHINES: Record<number, string> = {
  0x014c: 'i386',
  0x8664: 'amd64',
  0xaa64: 'arm64',
  0xa641: 'arm64ec',
  0x01c0: 'arm',
  0x01c2: 'thumb',
  0x01c4: 'armnt',
  0x0200: 'ia64',
  0x0ebc: 'ebc',
  0x5032: 'riscv32',
  0x5064: 'riscv64',
  0x5128: 'riscv128',
  0x6232: 'loongarch32',
  0x6264: 'loongarch64',
};

/** Where a hostile table could otherwise make us build an array of millions of entries. */
export const MAX_WIN_CERTIFICATES = 256;

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** 'MZ', then e_lfanew pointing at 'PE\0\0' inside the buffer. Never throws. */
export function isPe(buf: Uint8Array): boolean {
  if (buf.length < 64 || buf[0] !== 0x4d || buf[1] !== 0x5a) return false;
  const pe = u32(buf, 0x3c);
  return (
    pe + 4 <= buf.length && buf[pe] === 0x50 && buf[pe + 1] === 0x45 && buf[pe + 2] === 0 && buf[pe + 3] === 0
  );
}

export function parsePe(buf: Uint8Array): PeImage {
  if (!isPe(buf)) malformed(`not a PE image: no 'MZ' header leading to a 'PE\\0\\0' signature at offset 0`);
  const pe = u32(buf, 0x3c);
  const coff = pe + 4;
  if (coff + 20 > buf.length) malformed(`COFF header at offset ${coff} truncated`);
  const machine = u16(buf, coff);
  const nSections = u16(buf, coff + 2);
  const optSize = u16(buf, coff + 16);
  const opt = coff + 20;
  if (optSize < 2 || opt + optSize > buf.length)
    malformed(`optional header of ${optSize} bytes at offset ${opt} runs past the end (${buf.length})`);
  const magic = u16(buf, opt);
  if (magic !== 0x10b && magic !== 0x20b)
    malformed(`optional header magic 0x${magic.toString(16)} at offset ${opt} is neither PE32 nor PE32+`);
  const is64 = magic === 0x20b;
  // The Windows-specific fields end, and the data directories begin, 16 bytes later in PE32+
  // because ImageBase and the four stack/heap sizes widen to 64 bits.
  const dirs = opt + (is64 ? 112 : 96);
  if (dirs > opt + optSize)
    malformed(`optional header of ${optSize} bytes at offset ${opt} is too short for its fixed fields`);
  const sizeOfHeaders = u32(buf, opt + 60);
  const checksumOffset = opt + 64;
  const subsystem = u16(buf, opt + 68);
  const nDirs = u32(buf, dirs - 4);
  // Directory 4 is the Certificate Table; it exists only if both the count and the header size say so.
  const certTableDirOffset = nDirs > 4 && dirs + 5 * 8 <= opt + optSize ? dirs + 4 * 8 : -1;

  const secTable = opt + optSize;
  const secEnd = secTable + nSections * 40;
  if (secEnd > buf.length)
    malformed(
      `section table of ${nSections} entries at offset ${secTable} runs past the end (${buf.length})`,
    );
  if (sizeOfHeaders > buf.length)
    malformed(`SizeOfHeaders ${sizeOfHeaders} at offset ${opt + 60} runs past the end (${buf.length})`);
  // Headers beyond SizeOfHeaders are outside the digest, so a section table there would be unsigned.
  if (secEnd > sizeOfHeaders)
    malformed(`section table ends at ${secEnd}, past SizeOfHeaders ${sizeOfHeaders} (offset ${opt + 60})`);

  const sections: PeSection[] = [];
  for (let i = 0; i < nSections; i++) {
    const s = secTable + i * 40;
    let n = 0;
    while (n < 8 && buf[s + n] !== 0) n++;
    const name = latin1(buf, s, s + n);
    const rawSize = u32(buf, s + 16);
    const rawOffset = u32(buf, s + 20);
    if (rawSize > 0 && rawOffset + rawSize > buf.length)
      malformed(
        `section ${i} (${name}) raw data [${rawOffset}, ${rawOffset + rawSize}) at header offset ${s} runs past the end (${buf.length}): truncated image`,
      );
    sections.push({ name, virtualAddress: u32(buf, s + 12), rawSize, rawOffset });
  }

  const image: PeImage = {
    machine,
    machineName: MACHINES[machine] ?? `0x${machine.toString(16).padStart(4, '0')}`,
    subsystem,
    is64,
    sizeOfHeaders,
    sections,
    checksumOffset,
    certTableDirOffset,
    certificates: [],
  };
  if (certTableDirOffset < 0) return image;
  // For this one directory VirtualAddress is a file offset, not an RVA (PE Format, "The Attribute
  // Certificate Table"), since the table is never mapped into memory.
  const offset = u32(buf, certTableDirOffset);
  const size = u32(buf, certTableDirOffset + 4);
  if (size === 0) return image;
  if (offset === 0 || offset + size > buf.length)
    malformed(
      `certificate table [${offset}, ${offset + size}) named at offset ${certTableDirOffset} lies outside the file (${buf.length}): truncated image`,
    );
  if (offset < sizeOfHeaders)
    malformed(`certificate table at ${offset} overlaps the headers (SizeOfHeaders ${sizeOfHeaders})`);
  image.certTable = { offset, size };
  image.certificates = parseCertTable(buf, offset, offset + size);
  return image;
}

function parseCertTable(buf: Uint8Array, start: number, end: number): WinCertificate[] {
  const out: WinCertificate[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    const length = u32(buf, pos);
    if (length === 0 && allZero(buf, pos, end)) break; // trailing alignment padding, not an entry
    if (length < 8 || pos + length > end)
      malformed(`WIN_CERTIFICATE at offset ${pos} claims ${length} bytes, table ends at ${end}`);
    if (out.length >= MAX_WIN_CERTIFICATES)
      malformed(`more than ${MAX_WIN_CERTIFICATES} WIN_CERTIFICATE entries at offset ${start}`);
    out.push({
      offset: pos,
      length,
      revision: u16(buf, pos + 4),
      type: u16(buf, pos + 6),
      data: { start: pos + 8, end: pos + length },
    });
    // Entries start on 8-byte boundaries relative to the table ("quadword aligned").
    pos += Math.ceil(length / 8) * 8; // arithmetic, not bit operators: dwLength may exceed 2^31
  }
  if (pos < end && !allZero(buf, pos, end))
    malformed(`${end - pos} stray bytes at the end of the certificate table at offset ${pos}`);
  return out;
}

function allZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

const IMAGE_HASHES = new Set<string>(['sha1', 'sha256', 'sha384', 'sha512']);

/** The Authenticode image hash of `buf`, whose headers `pe` describes (from parsePe on the same bytes). */
export function authenticodeDigest(
  buf: Uint8Array,
  pe: PeImage,
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512',
): Buffer {
  // The name often comes straight from a parsed SpcIndirectData; createHash would throw a plain Error.
  if (!IMAGE_HASHES.has(hash))
    throw new CoreError('KEY_UNSUPPORTED', `Authenticode image digest with ${String(hash)} is not supported`);
  const h = createHash(hash);
  const { checksumOffset: ck, certTableDirOffset: dir, sizeOfHeaders } = pe;
  if (
    sizeOfHeaders > buf.length ||
    ck + 4 > sizeOfHeaders ||
    dir + 8 > sizeOfHeaders ||
    (dir >= 0 && dir < ck + 4)
  )
    malformed(`PE description does not fit this buffer of ${buf.length} bytes`);
  // Steps 3-7: the headers up to SizeOfHeaders, leaving out the 4-byte CheckSum and the 8-byte
  // Certificate Table entry, since both change when a signature is embedded.
  h.update(buf.subarray(0, ck));
  if (dir < 0) h.update(buf.subarray(ck + 4, sizeOfHeaders));
  else {
    h.update(buf.subarray(ck + 4, dir));
    h.update(buf.subarray(dir + 8, sizeOfHeaders));
  }
  // Step 8: SUM_OF_BYTES_HASHED starts at SizeOfHeaders.
  let sum = sizeOfHeaders;
  // Steps 9-10: sections with raw data, in ascending PointerToRawData order.
  const sorted = pe.sections.filter((s) => s.rawSize > 0).sort((a, b) => a.rawOffset - b.rawOffset);
  // Steps 11-13: each section's raw data, whole, counted into SUM_OF_BYTES_HASHED.
  for (const s of sorted) {
    if (s.rawOffset + s.rawSize > buf.length)
      malformed(`section ${s.name} raw data at ${s.rawOffset} runs past the end (${buf.length})`);
    h.update(buf.subarray(s.rawOffset, s.rawOffset + s.rawSize));
    sum += s.rawSize;
  }
  // Step 14: data past what was hashed (an overlay), from file offset SUM_OF_BYTES_HASHED with length
  // FILE_SIZE - (certificate table size + SUM_OF_BYTES_HASHED), the size being the directory's.
  // Taken literally, as the spec words it: with the table at the end of the file (where signers put
  // it) this is everything between the last section and the table.
  const certSize = pe.certTable?.size ?? 0;
  const extra = buf.length - certSize - sum;
  if (extra > 0) h.update(buf.subarray(sum, sum + extra));
  // Step 15 (finalise) is the digest itself.
  return h.digest();
}

const SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';

/** SpcIndirectDataContent (1.3.6.1.4.1.311.2.1.4) from a SignedData eContent: digest algorithm and the digest it claims */
export function parseSpcIndirectData(
  buf: Uint8Array,
  content: { start: number; end: number },
): { digestAlgorithm: string; digest: string /* hex */; dataType: string } {
  let top = readOne(buf, content.start, content.end);
  // PKCS#7 v1.5 (which Authenticode follows) puts the SEQUENCE straight under [0]; a CMS-style
  // reader may hand us the OCTET STRING wrapping it instead, so accept either.
  if (top.tag === Tag.OCTET_STRING) top = readOne(buf, top.start, top.end);
  checkDepth(buf, top);
  const [dataT, digestInfoT, extra] = seq(buf, top, SPC_INDIRECT_DATA + ' SpcIndirectDataContent');
  if (!dataT || !digestInfoT || extra)
    malformed(`SpcIndirectDataContent at offset ${top.hs} needs two fields`);
  // SpcAttributeTypeAndOptionalValue: the type says what was hashed (1.3.6.1.4.1.311.2.1.15 for a PE image).
  const [typeT] = seq(buf, dataT, 'SpcAttributeTypeAndOptionalValue');
  const dataType = readOid(buf, expectTag(typeT, Tag.OID, 'SpcAttributeTypeAndOptionalValue type'));
  const [algT, digestT, more] = seq(buf, digestInfoT, 'DigestInfo');
  if (more) malformed(`DigestInfo at offset ${digestInfoT.hs} has more than two fields`);
  const { oid } = parseAlgorithmIdentifier(buf, algT);
  const d = expectTag(digestT, Tag.OCTET_STRING, 'DigestInfo digest');
  return { digestAlgorithm: HASH_ALGORITHMS[oid] ?? oid, digest: hex(buf, d.start, d.end), dataType };
}

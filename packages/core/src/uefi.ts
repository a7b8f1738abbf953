import type { SignedData } from './cms.ts';
import { parseSignedData } from './cms.ts';
import { readTlv, Tag } from './der.ts';
import { malformed } from './error.ts';

/**
 * UEFI Secure Boot key stores (UEFI 2.x §32.4.1 and §8.2.2): EFI_SIGNATURE_LIST sequences, as in the
 * PK/KEK/db/dbx variables and in `cert-to-efi-sig-list` output, and time-based authenticated
 * variable updates (EFI_VARIABLE_AUTHENTICATION_2), as `sign-efi-sig-list` writes them:
 *
 *   EFI_SIGNATURE_LIST { SignatureType GUID, u32 ListSize, u32 HeaderSize, u32 SignatureSize,
 *       u8 Header[HeaderSize], EFI_SIGNATURE_DATA { GUID Owner, u8 Data[SignatureSize - 16] }... }
 *   EFI_VARIABLE_AUTHENTICATION_2 { EFI_TIME (16), WIN_CERTIFICATE_UEFI_GUID { u32 dwLength,
 *       u16 wRevision, u16 wCertificateType = 0x0EF1, GUID CertType = PKCS7, CertData } } || ESLs
 *
 * All integers are little-endian; GUIDs use the mixed-endian EFI layout.
 */

export const EFI_GUID = {
  certX509: 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072',
  certSha1: '826ca512-cf10-4ac9-b187-be01496631bd',
  certSha224: '0b6e5233-a65c-44c9-9407-d9ab83bfc8bd',
  certSha256: 'c1c41626-504c-4092-aca9-41f936934328',
  certSha384: 'ff3e5307-9fd0-48c9-85f1-8ad56c701e01',
  certSha512: '093e0fae-a6c4-4f50-9f1b-d41e2b89c19a',
  certRsa2048: '3c5766e8-269c-4e34-aa14-ed776e85b3b6',
  certX509Sha256: '3bd2a492-96c0-4079-b420-fcf98ef103ed',
  certX509Sha384: '7076876e-80c2-4ee6-aad2-28b349a6865b',
  certX509Sha512: '446dbf63-2502-4cda-bcfa-2465d2b0fe9d',
  certTypePkcs7: '4aafd29d-68df-49ee-8aa9-347d375665a7',
  globalVariable: '8be4df61-93ca-11d2-aa0d-00e098032b8c',
  imageSecurityDatabase: 'd719b2cb-3d3a-4596-a3bc-dad00e67656f',
  /** VARIABLE_STORE_HEADER signatures (EDK II VariableFormat.h): AUTHENTICATED_VARIABLE_HEADERs, or plain ones. */
  authenticatedVariableStore: 'aaf32c78-947b-439a-a180-2e144ec37792',
  variableStore: 'ddcf3616-3275-4164-98b6-fe85707ffe7d',
} as const;

/** What each signature type holds, and the exact entry data size where the spec fixes one. */
const SIGNATURE_TYPES: Record<string, { name: string; dataSize?: number }> = {
  [EFI_GUID.certX509]: { name: 'x509' },
  [EFI_GUID.certSha1]: { name: 'sha1', dataSize: 20 },
  [EFI_GUID.certSha224]: { name: 'sha224', dataSize: 28 },
  [EFI_GUID.certSha256]: { name: 'sha256', dataSize: 32 },
  [EFI_GUID.certSha384]: { name: 'sha384', dataSize: 48 },
  [EFI_GUID.certSha512]: { name: 'sha512', dataSize: 64 },
  [EFI_GUID.certRsa2048]: { name: 'rsa2048', dataSize: 256 },
  // A certificate's TBS hash followed by an EFI_TIME of revocation.
  [EFI_GUID.certX509Sha256]: { name: 'x509-sha256', dataSize: 32 + 16 },
  [EFI_GUID.certX509Sha384]: { name: 'x509-sha384', dataSize: 48 + 16 },
  [EFI_GUID.certX509Sha512]: { name: 'x509-sha512', dataSize: 64 + 16 },
};

/** Bounds on hostile input: real db/dbx variables hold a few hundred lists and a few thousand hashes. */
export const UEFI_LIMITS = {
  lists: 10_000,
  entries: 200_000,
  stores: 16,
  variables: 10_000,
  nameBytes: 1024,
} as const;

const LIST_HEADER = 28;
const GUID_SIZE = 16;
const EFI_TIME_SIZE = 16;
const WIN_CERT_HEADER = 8 + GUID_SIZE;
const WIN_CERT_TYPE_EFI_GUID = 0x0ef1;
const WIN_CERT_REVISION = 0x0200;

export interface UefiRange {
  readonly start: number;
  readonly end: number;
}

export interface SignatureEntry {
  /** Offset of the EFI_SIGNATURE_DATA (its owner GUID). */
  readonly offset: number;
  readonly owner: string;
  /** The entry's data: a DER certificate for x509 lists, a hash (or key modulus) otherwise. */
  readonly data: UefiRange;
}

export interface SignatureList {
  readonly offset: number;
  readonly end: number;
  /** SignatureType GUID, lowercase canonical text. */
  readonly type: string;
  /** x509, sha256, ... from SIGNATURE_TYPES; undefined for a type we do not know. */
  readonly typeName?: string;
  readonly headerSize: number;
  readonly signatureSize: number;
  readonly entries: SignatureEntry[];
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

const h2 = (b: Uint8Array, o: number): string => b[o]!.toString(16).padStart(2, '0');

/** The GUID at `o` as text; the caller has checked that 16 bytes are there. */
export function readGuid(b: Uint8Array, o: number): string {
  const le = (idx: number[]): string => idx.map((i) => h2(b, o + i)).join('');
  const be = (from: number, to: number): string => {
    let s = '';
    for (let i = from; i < to; i++) s += h2(b, o + i);
    return s;
  };
  return `${le([3, 2, 1, 0])}-${le([5, 4])}-${le([7, 6])}-${be(8, 10)}-${be(10, 16)}`;
}

/** The 16 bytes of a GUID written as text. */
export function guidBytes(guid: string): Buffer {
  const hexs = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hexs)) malformed(`not a GUID: ${guid}`);
  const raw = Buffer.from(hexs, 'hex');
  const out = Buffer.from(raw);
  for (const [from, len] of [
    [0, 4],
    [4, 2],
    [6, 2],
  ] as const)
    for (let i = 0; i < len; i++) out[from + i] = raw[from + len - 1 - i]!;
  return out;
}

/**
 * Cheap sniff: does `buf[start, end)` begin with an EFI_SIGNATURE_LIST header of a known type whose
 * sizes are self-consistent? The list may still run past `end` (a truncated file), which
 * parseSignatureLists then reports.
 */
export function looksLikeSignatureList(buf: Uint8Array, start = 0, end = buf.length): boolean {
  if (end - start < LIST_HEADER || end > buf.length) return false;
  if (!SIGNATURE_TYPES[readGuid(buf, start)]) return false;
  const size = u32(buf, start + 16);
  const header = u32(buf, start + 20);
  const sig = u32(buf, start + 24);
  return sig > GUID_SIZE && size >= LIST_HEADER + header + sig;
}

/**
 * The EFI_SIGNATURE_LISTs that tile buf[start, end) exactly, as the variable data of PK, KEK, db and
 * dbx does. Throws CoreError naming the offset when a list's sizes do not add up.
 */
export function parseSignatureLists(buf: Uint8Array, start = 0, end = buf.length): SignatureList[] {
  if (start < 0 || end > buf.length || start > end)
    malformed(`range [${start}, ${end}) outside a buffer of ${buf.length} octets`);
  const lists: SignatureList[] = [];
  let entriesSeen = 0;
  let pos = start;
  while (pos < end) {
    if (lists.length >= UEFI_LIMITS.lists)
      malformed(`more than ${UEFI_LIMITS.lists} signature lists at offset ${start}`);
    if (end - pos < LIST_HEADER)
      malformed(`truncated EFI_SIGNATURE_LIST header at offset ${pos}: ${end - pos} of ${LIST_HEADER} bytes`);
    const type = readGuid(buf, pos);
    const listSize = u32(buf, pos + 16);
    const headerSize = u32(buf, pos + 20);
    const signatureSize = u32(buf, pos + 24);
    if (listSize > end - pos)
      malformed(`EFI_SIGNATURE_LIST at offset ${pos} declares ${listSize} bytes, only ${end - pos} remain`);
    if (signatureSize < GUID_SIZE)
      malformed(
        `EFI_SIGNATURE_LIST at offset ${pos} has SignatureSize ${signatureSize}, below the owner GUID`,
      );
    const body = listSize - LIST_HEADER - headerSize;
    if (listSize < LIST_HEADER + headerSize)
      malformed(`EFI_SIGNATURE_LIST at offset ${pos}: HeaderSize ${headerSize} exceeds ListSize ${listSize}`);
    if (body % signatureSize !== 0)
      malformed(
        `EFI_SIGNATURE_LIST at offset ${pos}: ${body} entry bytes are not a multiple of SignatureSize ${signatureSize}`,
      );
    const known = SIGNATURE_TYPES[type];
    if (known?.dataSize !== undefined && signatureSize !== GUID_SIZE + known.dataSize)
      malformed(
        `EFI_SIGNATURE_LIST at offset ${pos} of type ${known.name} has SignatureSize ${signatureSize}, not ${GUID_SIZE + known.dataSize}`,
      );
    const count = body / signatureSize;
    entriesSeen += count;
    if (entriesSeen > UEFI_LIMITS.entries)
      malformed(`more than ${UEFI_LIMITS.entries} signature entries by offset ${pos}`);
    const entries: SignatureEntry[] = [];
    let e = pos + LIST_HEADER + headerSize;
    for (let i = 0; i < count; i++, e += signatureSize)
      entries.push({
        offset: e,
        owner: readGuid(buf, e),
        data: { start: e + GUID_SIZE, end: e + signatureSize },
      });
    lists.push({
      offset: pos,
      end: pos + listSize,
      type,
      ...(known && { typeName: known.name }),
      headerSize,
      signatureSize,
      entries,
    });
    pos += listSize;
  }
  return lists;
}

export interface EfiTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly nanosecond: number;
  /** Minutes from UTC; 0x7FF (2047) means unspecified (local time). */
  readonly timeZone: number;
  /** Epoch milliseconds, when the fields form a real UTC (or unspecified-zone) instant. */
  readonly epochMs?: number;
}

export function readEfiTime(b: Uint8Array, o: number): EfiTime {
  const year = u16(b, o);
  const [month, day, hour, minute, second] = [2, 3, 4, 5, 6].map((i) => b[o + i]!) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const nanosecond = u32(b, o + 8);
  const tz = u16(b, o + 12);
  const timeZone = tz >= 0x8000 ? tz - 0x10000 : tz;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  const real =
    year >= 1900 &&
    month >= 1 &&
    d.getUTCMonth() === month - 1 &&
    d.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    (timeZone === 0x7ff || Math.abs(timeZone) <= 1440);
  const offset = timeZone === 0x7ff ? 0 : timeZone;
  return {
    year,
    month,
    day,
    hour,
    minute,
    second,
    nanosecond,
    timeZone,
    // The spec defines Localtime = UTC - TimeZone; an unspecified zone is taken as UTC.
    ...(real && { epochMs: ms + offset * 60_000 }),
  };
}

export interface AuthenticatedVariable {
  readonly offset: number;
  readonly timeStamp: EfiTime;
  /** The 16 raw EFI_TIME bytes, which the signature covers. */
  readonly timeStampRange: UefiRange;
  /** WIN_CERTIFICATE_UEFI_GUID header offset and its dwLength. */
  readonly certOffset: number;
  readonly certLength: number;
  /** CertType GUID; only EFI_CERT_TYPE_PKCS7_GUID carries a verifiable SignedData. */
  readonly certType: string;
  /** CertData: the PKCS#7 (usually a bare SignedData, without ContentInfo). */
  readonly pkcs7: UefiRange;
  /** The new variable data (the ESLs) that follows the authentication header. */
  readonly data: UefiRange;
  readonly lists: SignatureList[];
}

/** Cheap sniff: an EFI_TIME, then a WIN_CERTIFICATE_UEFI_GUID of revision 2.0 with type 0x0EF1. */
export function isAuthenticatedVariable(buf: Uint8Array, start = 0): boolean {
  const w = start + EFI_TIME_SIZE;
  if (buf.length < w + WIN_CERT_HEADER) return false;
  return u16(buf, w + 4) === WIN_CERT_REVISION && u16(buf, w + 6) === WIN_CERT_TYPE_EFI_GUID;
}

/** An EFI_VARIABLE_AUTHENTICATION_2 update in buf[start, end): header, signature range and payload lists. */
export function parseAuthenticatedVariable(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): AuthenticatedVariable {
  if (start < 0 || end > buf.length || start > end)
    malformed(`range [${start}, ${end}) outside a buffer of ${buf.length} octets`);
  const w = start + EFI_TIME_SIZE;
  if (end - start < EFI_TIME_SIZE + WIN_CERT_HEADER)
    malformed(`truncated EFI_VARIABLE_AUTHENTICATION_2 at offset ${start}: ${end - start} bytes`);
  const certLength = u32(buf, w);
  const revision = u16(buf, w + 4);
  const type = u16(buf, w + 6);
  if (revision !== WIN_CERT_REVISION || type !== WIN_CERT_TYPE_EFI_GUID)
    malformed(
      `WIN_CERTIFICATE at offset ${w} has revision 0x${revision.toString(16)} type 0x${type.toString(16)}, not 0x200/0xef1`,
    );
  if (certLength < WIN_CERT_HEADER || certLength > end - w)
    malformed(`WIN_CERTIFICATE at offset ${w} declares dwLength ${certLength}, ${end - w} bytes remain`);
  const data = { start: w + certLength, end };
  return {
    offset: start,
    timeStamp: readEfiTime(buf, start),
    timeStampRange: { start, end: w },
    certOffset: w,
    certLength,
    certType: readGuid(buf, w + 8),
    pkcs7: { start: w + WIN_CERT_HEADER, end: w + certLength },
    data,
    lists: parseSignatureLists(buf, data.start, data.end),
  };
}

const SIGNED_DATA_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return [0x80 | out.length, ...out];
}

/**
 * The SignedData of an authenticated variable. The spec (and efitools) put a bare SignedData in
 * CertData while the CMS reader takes a ContentInfo; rather than copy the signature elsewhere, a
 * ContentInfo header is written over the WIN_CERTIFICATE header that precedes it in a copy of the
 * buffer, so every range in the result is an offset into the original buffer too. Verify signers
 * against the returned `buf`.
 */
export function authenticatedVariableSignedData(
  buf: Uint8Array,
  av: AuthenticatedVariable,
): { buf: Uint8Array; sd: SignedData } {
  const { start, end } = av.pkcs7;
  if (av.certType !== EFI_GUID.certTypePkcs7)
    malformed(`WIN_CERTIFICATE at offset ${av.certOffset} has CertType ${av.certType}, not PKCS7`);
  const outer = readTlv(buf, start, end);
  if (outer.tag !== Tag.SEQUENCE)
    malformed(`CertData at offset ${start} is not a SEQUENCE (tag 0x${outer.tag.toString(16)})`);
  const first = readTlv(buf, outer.start, outer.end);
  if (first.tag === Tag.OID) return { buf, sd: parseSignedData(buf, start, end) };
  const sdLen = outer.end - start;
  const inner = [0xa0, ...derLength(sdLen)];
  const content = SIGNED_DATA_OID.length + inner.length + sdLen;
  const header = [Tag.SEQUENCE, ...derLength(content), ...SIGNED_DATA_OID, ...inner];
  // The 16-byte EFI_TIME and 24-byte WIN_CERTIFICATE header leave room for any header up to 4 GiB.
  const at = start - header.length;
  if (at < av.offset) malformed(`no room for a ContentInfo header before offset ${start}`);
  const copy = Buffer.from(buf);
  copy.set(header, at);
  return { buf: copy, sd: parseSignedData(copy, at, outer.end) };
}

/** EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS | TIME_BASED_AUTHENTICATED_WRITE_ACCESS. */
export const EFI_AUTH_VARIABLE_ATTRIBUTES = 0x27;
export const EFI_VARIABLE_APPEND_WRITE = 0x40;

/** The vendor GUID of a Secure Boot variable by name, for the names the spec defines. */
export function secureBootVendor(name: string): string | undefined {
  if (name === 'PK' || name === 'KEK') return EFI_GUID.globalVariable;
  if (['db', 'dbx', 'dbt', 'dbr'].includes(name)) return EFI_GUID.imageSecurityDatabase;
  return undefined;
}

/**
 * What the PKCS#7 signs (UEFI §8.2.2): VariableName (UTF-16LE, no NUL) || VendorGuid || Attributes
 * || TimeStamp || Data.
 */
export function authenticatedVariableContent(
  buf: Uint8Array,
  av: AuthenticatedVariable,
  name: string,
  vendorGuid: string,
  attributes: number,
): Buffer {
  const attr = Buffer.alloc(4);
  attr.writeUInt32LE(attributes >>> 0);
  return Buffer.concat([
    Buffer.from(name, 'utf16le'),
    guidBytes(vendorGuid),
    attr,
    buf.subarray(av.timeStampRange.start, av.timeStampRange.end),
    buf.subarray(av.data.start, av.data.end),
  ]);
}

/**
 * EDK II variable stores, as in OVMF_VARS.fd and the NV region of firmware images:
 *
 *   VARIABLE_STORE_HEADER { GUID Signature, u32 Size, u8 Format = 0x5A, u8 State = 0xFE, u16, u32 }
 *   then variables, each 4-aligned from the store start, until a StartId other than 0x55AA:
 *   AUTHENTICATED_VARIABLE_HEADER { u16 StartId, u8 State, u8, u32 Attributes, u64 MonotonicCount,
 *       EFI_TIME TimeStamp, u32 PubKeyIndex, u32 NameSize, u32 DataSize, GUID VendorGuid } (60 bytes)
 *   VARIABLE_HEADER { u16 StartId, u8 State, u8, u32 Attributes, u32 NameSize, u32 DataSize,
 *       GUID VendorGuid } (32 bytes), each followed by Name (UTF-16LE, NUL-terminated) and Data.
 */

export interface StoredVariable {
  readonly offset: number;
  readonly state: number;
  /** State says the variable is in effect: added, possibly mid-way through being replaced. */
  readonly live: boolean;
  readonly attributes: number;
  readonly name: string;
  readonly vendorGuid: string;
  /** Authenticated stores only. */
  readonly timeStamp?: EfiTime;
  readonly data: UefiRange;
}

export interface VariableStore {
  readonly offset: number;
  readonly end: number;
  readonly authenticated: boolean;
  readonly variables: StoredVariable[];
}

const STORE_HEADER = 28;
const VARIABLE_START_ID = 0x55aa;
const VAR_ADDED = 0x3f;
const VAR_IN_DELETED_TRANSITION = 0xfe;

/** Offsets of formatted, healthy variable store headers in `buf` (at most UEFI_LIMITS.stores). */
export function findVariableStores(buf: Uint8Array): number[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: number[] = [];
  for (const guid of [EFI_GUID.authenticatedVariableStore, EFI_GUID.variableStore]) {
    const needle = guidBytes(guid);
    for (
      let at = b.indexOf(needle);
      at >= 0 && out.length < UEFI_LIMITS.stores;
      at = b.indexOf(needle, at + 1)
    )
      if (at + STORE_HEADER <= b.length && b[at + 20] === 0x5a && b[at + 21] === 0xfe) out.push(at);
  }
  return out.sort((x, y) => x - y);
}

/** The variable store whose header is at `start`; throws CoreError naming the offset when a header lies. */
export function parseVariableStore(buf: Uint8Array, start: number): VariableStore {
  if (start < 0 || start + STORE_HEADER > buf.length)
    malformed(`truncated variable store header at offset ${start}`);
  const sig = readGuid(buf, start);
  const authenticated = sig === EFI_GUID.authenticatedVariableStore;
  if (!authenticated && sig !== EFI_GUID.variableStore)
    malformed(`no variable store signature at offset ${start} (${sig})`);
  const size = u32(buf, start + 16);
  if (size < STORE_HEADER || size > buf.length - start)
    malformed(`variable store at offset ${start} declares ${size} bytes, ${buf.length - start} remain`);
  const end = start + size;
  const header = authenticated ? 60 : 32;
  const variables: StoredVariable[] = [];
  let pos = start + STORE_HEADER;
  while (pos + header <= end && u16(buf, pos) === VARIABLE_START_ID) {
    if (variables.length >= UEFI_LIMITS.variables)
      malformed(`more than ${UEFI_LIMITS.variables} variables in the store at offset ${start}`);
    const sizes = pos + (authenticated ? 36 : 8);
    const nameSize = u32(buf, sizes);
    const dataSize = u32(buf, sizes + 4);
    const nameStart = pos + header;
    if (nameSize > UEFI_LIMITS.nameBytes || nameSize % 2 !== 0)
      malformed(`variable at offset ${pos} has NameSize ${nameSize}`);
    if (dataSize > end - nameStart - nameSize)
      malformed(
        `variable at offset ${pos} declares ${nameSize + dataSize} name and data bytes past the store end ${end}`,
      );
    const state = buf[pos + 2]!;
    const name = Buffer.from(buf.buffer, buf.byteOffset + nameStart, nameSize).toString('utf16le');
    const dataStart = nameStart + nameSize;
    variables.push({
      offset: pos,
      state,
      live: state === VAR_ADDED || state === (VAR_ADDED & VAR_IN_DELETED_TRANSITION),
      attributes: u32(buf, pos + 4),
      name: name.includes('\0') ? name.slice(0, name.indexOf('\0')) : name,
      vendorGuid: readGuid(buf, sizes + 8),
      ...(authenticated && { timeStamp: readEfiTime(buf, pos + 16) }),
      data: { start: dataStart, end: dataStart + dataSize },
    });
    pos = start + Math.ceil((dataStart + dataSize - start) / 4) * 4;
  }
  return { offset: start, end, authenticated, variables };
}

import { looksLikeCertificate, type Certificate } from './x509.ts';
import { readTlv } from './der.ts';
import { malformed } from './error.ts';

/**
 * TPM endorsement-key and platform certificates: who made the TPM (from the certificate), and where
 * the certificates sit in a TPM's NV storage as swtpm persists it (`tpm2-00.permall`) or as
 * `tpm2_nvread` dumps one index.
 */

export const TPM_OIDS = {
  ekCertificate: '2.23.133.8.1',
  platformCertificate: '2.23.133.8.2',
  manufacturer: '2.23.133.2.1',
  model: '2.23.133.2.2',
  version: '2.23.133.2.3',
  platformManufacturer: '2.23.133.5.1.1',
  platformModel: '2.23.133.5.1.4',
  platformVersion: '2.23.133.5.1.5',
} as const;

export interface TpmIdentity {
  /** TPM (EK) or platform manufacturer as written, e.g. `id:00001014` (TCG vendor id in hex). */
  readonly manufacturer?: string;
  readonly model?: string;
  readonly version?: string;
  /** The certificate certifies an endorsement key. */
  readonly ek: boolean;
  /** The certificate is a TCG platform certificate in X.509 form. */
  readonly platform: boolean;
}

const EK_NAMES = new Set([TPM_OIDS.ekCertificate, 'tcgEkCertificate']);

/**
 * Split an RFC 4514 string (as nameText writes it) into type/value pairs. The SAN is already parsed
 * into text by the time a Certificate exists, and taking the Certificate alone keeps callers simple.
 */
function rfc4514Pairs(text: string): [string, string][] {
  const out: [string, string][] = [];
  let type = '';
  let cur = '';
  let inValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      const h = text.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(h)) {
        cur += String.fromCharCode(parseInt(h, 16));
        i += 2;
      } else {
        cur += text[++i]!;
      }
    } else if (!inValue && c === '=') {
      type = cur;
      cur = '';
      inValue = true;
    } else if (inValue && (c === ',' || c === '+')) {
      out.push([type, cur]);
      cur = '';
      inValue = false;
    } else {
      cur += c;
    }
  }
  if (inValue) out.push([type, cur]);
  return out;
}

/**
 * What a TPM EK or platform certificate says about the TPM or platform: the subjectAltName
 * directoryName attributes the TCG EK Credential Profile and Platform Certificate Profile define.
 * Undefined for a certificate that is neither.
 */
export function tpmIdentity(cert: Certificate): TpmIdentity | undefined {
  const ekus = cert.extKeyUsage ?? [];
  let ek = ekus.some((e) => EK_NAMES.has(e));
  const platform = ekus.includes(TPM_OIDS.platformCertificate);
  for (const e of cert.extensions) {
    if (
      e.value?.kind === 'certificatePolicies' &&
      e.value.policies.some((p) => p.oid === TPM_OIDS.ekCertificate)
    )
      ek = true;
  }
  const attrs = new Map<string, string>();
  for (const n of cert.subjectAltNames ?? []) {
    if (n.type !== 'directoryName') continue;
    for (const [k, v] of rfc4514Pairs(n.value)) if (!attrs.has(k)) attrs.set(k, v);
  }
  const manufacturer = attrs.get(TPM_OIDS.manufacturer) ?? attrs.get(TPM_OIDS.platformManufacturer);
  const model = attrs.get(TPM_OIDS.model) ?? attrs.get(TPM_OIDS.platformModel);
  const version = attrs.get(TPM_OIDS.version) ?? attrs.get(TPM_OIDS.platformVersion);
  if (!ek && !platform && manufacturer === undefined && model === undefined) return undefined;
  return {
    ...(manufacturer !== undefined && { manufacturer }),
    ...(model !== undefined && { model }),
    ...(version !== undefined && { version }),
    ek,
    platform,
  };
}

// swtpm's blob header (all big-endian): version u8, min_version u8, hdrsize u16, flags u16, totlen u32.
const HEADER_SIZE = 10;
const BLOB_VERSION = 2;
const FLAG_ENCRYPTED = 0x1;
const FLAG_MIGRATION_ENCRYPTED = 0x2;
/** Sections after the header are tag u16 + length u32; these two hold plaintext TPM state. */
const TAG_DATA = 1;
const TAG_MIGRATION_DATA = 4;
const MAX_SECTIONS = 64;
const MAX_CERTS = 256;

/** TCG EK Credential Profile: EK certificates from 0x01C00000, platform certificates from 0x01C08000. */
const NV_CERT_FIRST = 0x01c00000;
const NV_PLATFORM_FIRST = 0x01c08000;
const NV_CERT_LAST = 0x01c0ffff;
const NAME_ALGS = new Set([0x0004, 0x000b, 0x000c, 0x000d, 0x0012]);

export interface NvCertificate {
  /** The NV index (TPM handle) the certificate is stored under. */
  readonly handle: number;
  readonly kind: 'ek' | 'platform';
  /** DER byte range in the input. */
  readonly start: number;
  readonly end: number;
}

export interface SwtpmState {
  readonly version: number;
  readonly flags: number;
  /** The TPM state is encrypted with a key we do not hold: its certificates cannot be read. */
  readonly encrypted: boolean;
  readonly sections: readonly { readonly tag: number; readonly start: number; readonly end: number }[];
  readonly certificates: readonly NvCertificate[];
}

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | u16(b, o + 2)) >>> 0;

/** Cheap magic test: the header's version bytes and a total length equal to the file's. */
export function isSwtpmState(buf: Uint8Array): boolean {
  if (buf.length < HEADER_SIZE + 6) return false;
  const min = buf[1]!;
  return (
    buf[0]! >= min &&
    min >= 1 &&
    min <= BLOB_VERSION &&
    u16(buf, 2) >= HEADER_SIZE &&
    u32(buf, 6) === buf.length
  );
}

/**
 * libtpms marshals each NV index as TPMS_NV_PUBLIC (nvIndex u32, nameAlg u16, attributes u32,
 * authPolicy TPM2B, dataSize u16) followed, a few bookkeeping bytes later, by the data. We find the
 * data first (a certificate) and confirm the index behind it, rather than follow libtpms' internal
 * marshalling, which changes between versions.
 */
function nvHandleBefore(buf: Uint8Array, lo: number, certStart: number, certLen: number): number | undefined {
  for (let p = certStart - 14; p >= lo && p >= certStart - 14 - 64 - 16; p--) {
    const handle = u32(buf, p);
    if (handle < NV_CERT_FIRST || handle > NV_CERT_LAST || !NAME_ALGS.has(u16(buf, p + 4))) continue;
    const policy = u16(buf, p + 10);
    if (policy > 64) continue;
    const sizeAt = p + 12 + policy;
    const gap = certStart - (sizeAt + 2);
    if (gap < 0 || gap > 16) continue;
    if (u16(buf, sizeAt) >= certLen) return handle;
  }
  return undefined;
}

function certificatesIn(buf: Uint8Array, lo: number, hi: number, out: NvCertificate[]): void {
  for (let p = lo; p + 4 <= hi && out.length < MAX_CERTS; p++) {
    if (buf[p] !== 0x30 || buf[p + 1] !== 0x82) continue;
    let top;
    try {
      top = readTlv(buf, p, hi);
    } catch {
      continue;
    }
    if (!looksLikeCertificate(buf, top)) continue;
    const handle = nvHandleBefore(buf, lo, p, top.end - p);
    if (handle === undefined) continue;
    out.push({ handle, kind: handle >= NV_PLATFORM_FIRST ? 'platform' : 'ek', start: p, end: top.end });
    p = top.end - 1;
  }
}

/** Read a swtpm state blob (`tpm2-00.permall`): its header, sections and NV-stored certificates. */
export function parseSwtpmState(buf: Uint8Array): SwtpmState {
  if (buf.length < HEADER_SIZE) malformed(`swtpm state: ${buf.length} bytes is shorter than the header`);
  const version = buf[0]!;
  const minVersion = buf[1]!;
  if (minVersion < 1 || minVersion > BLOB_VERSION)
    malformed(`swtpm state: unsupported minimum version ${minVersion} at offset 1`);
  const hdrsize = u16(buf, 2);
  const flags = u16(buf, 4);
  const totlen = u32(buf, 6);
  if (totlen !== buf.length)
    malformed(`swtpm state: total length ${totlen} at offset 6 but ${buf.length} bytes`);
  if (hdrsize < HEADER_SIZE || hdrsize > buf.length)
    malformed(`swtpm state: header size ${hdrsize} at offset 2`);
  const encrypted = (flags & (FLAG_ENCRYPTED | FLAG_MIGRATION_ENCRYPTED)) !== 0;
  const sections: { tag: number; start: number; end: number }[] = [];
  const certificates: NvCertificate[] = [];
  let pos = hdrsize;
  while (pos < buf.length) {
    if (sections.length >= MAX_SECTIONS) malformed(`swtpm state: more than ${MAX_SECTIONS} sections`);
    if (pos + 6 > buf.length) malformed(`swtpm state: truncated section header at offset ${pos}`);
    const tag = u16(buf, pos);
    const len = u32(buf, pos + 2);
    const start = pos + 6;
    if (len > buf.length - start)
      malformed(`swtpm state: section of ${len} bytes at offset ${pos} overruns the ${buf.length}-byte file`);
    sections.push({ tag, start, end: start + len });
    if (!encrypted && (tag === TAG_DATA || tag === TAG_MIGRATION_DATA))
      certificatesIn(buf, start, start + len, certificates);
    pos = start + len;
  }
  if (sections.length === 0) malformed(`swtpm state: no sections after the header at offset ${hdrsize}`);
  return { version, flags, encrypted, sections, certificates };
}

/**
 * An NV index dump (`tpm2_nvread 0x01c00002`): one DER certificate filling the start of the index,
 * then the index's unused tail, which writers leave as zeros (or 0xff from erased flash).
 * Returns the certificate's byte range, or undefined when the bytes are not that shape.
 */
export function nvCertificateRange(buf: Uint8Array): { start: number; end: number } | undefined {
  if (buf.length < 4 || buf[0] !== 0x30 || buf[1] !== 0x82) return undefined;
  let top;
  try {
    top = readTlv(buf, 0, buf.length);
  } catch {
    return undefined;
  }
  const pad = buf[top.end];
  if (pad !== undefined && pad !== 0x00 && pad !== 0xff) return undefined;
  for (let i = top.end; i < buf.length; i++) if (buf[i] !== pad) return undefined;
  return looksLikeCertificate(buf, top) ? { start: 0, end: top.end } : undefined;
}

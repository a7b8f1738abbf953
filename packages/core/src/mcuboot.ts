import { malformed } from './error.ts';

/**
 * MCUboot application images (mcu-tools/mcuboot docs/design.md, boot/bootutil/include/bootutil/image.h):
 *
 *   header (32 bytes, padded to ih_hdr_size) | body (ih_img_size) |
 *   [protected TLV area, magic 0x6908, exactly ih_protect_tlv_size bytes] | TLV area, magic 0x6907
 *
 * Every field is little-endian. A TLV area starts with {u16 magic, u16 total incl. these 4 bytes},
 * then entries {u16 type, u16 len, value}. The image hash (SHA256/384/512 TLV) covers header, body
 * and protected area; the signature TLVs sign that hash (or, with SIG_PURE, the covered bytes), and
 * each follows the KEYHASH or PUBKEY TLV naming its key. Big-endian images (imgtool --endian big)
 * are not read: their magic does not match.
 */

export const MCUBOOT_MAGIC = 0x96f3b83d;
const HEADER_LEN = 32;
const PROT_INFO_MAGIC = 0x6908;
const INFO_MAGIC = 0x6907;
const INFO_LEN = 4;
// A u16 total bounds an area to 65535 bytes, so at most 16383 four-byte entries; this cap is lower.
const MAX_TLVS = 1024;

export const MCUBOOT_TLV = {
  KEYHASH: 0x01,
  PUBKEY: 0x02,
  SHA256: 0x10,
  SHA384: 0x11,
  SHA512: 0x12,
  RSA2048_PSS: 0x20,
  ECDSA224: 0x21,
  ECDSA_SIG: 0x22,
  RSA3072_PSS: 0x23,
  ED25519: 0x24,
  SIG_PURE: 0x25,
  ENC_RSA2048: 0x30,
  ENC_KW: 0x31,
  ENC_EC256: 0x32,
  ENC_X25519: 0x33,
  ENC_X25519_SHA512: 0x34,
  DEPENDENCY: 0x40,
  SEC_CNT: 0x50,
  BOOT_RECORD: 0x60,
  DECOMP_SIZE: 0x70,
  DECOMP_SHA: 0x71,
  DECOMP_SIGNATURE: 0x72,
  COMP_DEC_SIZE: 0x73,
  UUID_VID: 0x74,
  UUID_CID: 0x75,
} as const;

const TLV_NAMES = new Map<number, string>(Object.entries(MCUBOOT_TLV).map(([k, v]) => [v, k]));

const HASHES: Record<number, 'sha256' | 'sha384' | 'sha512'> = {
  [MCUBOOT_TLV.SHA256]: 'sha256',
  [MCUBOOT_TLV.SHA384]: 'sha384',
  [MCUBOOT_TLV.SHA512]: 'sha512',
};

export type McubootScheme = 'rsa2048-pss' | 'rsa3072-pss' | 'ecdsa' | 'ecdsa224' | 'ed25519';

const SCHEMES: Record<number, McubootScheme> = {
  [MCUBOOT_TLV.RSA2048_PSS]: 'rsa2048-pss',
  [MCUBOOT_TLV.ECDSA224]: 'ecdsa224',
  [MCUBOOT_TLV.ECDSA_SIG]: 'ecdsa',
  [MCUBOOT_TLV.RSA3072_PSS]: 'rsa3072-pss',
  [MCUBOOT_TLV.ED25519]: 'ed25519',
};

export interface McubootTlv {
  readonly type: number;
  /** The image.h name without IMAGE_TLV_, or hex for vendor and unknown types. */
  readonly name: string;
  /** Where the entry's 4-byte header begins; the value is bytes [start, end). */
  readonly offset: number;
  readonly start: number;
  readonly end: number;
  readonly protected: boolean;
}

export interface McubootSignature {
  readonly scheme: McubootScheme;
  readonly tlv: McubootTlv;
  /** The KEYHASH or PUBKEY entry before it, which names the key that made it. */
  readonly key?: McubootTlv;
}

export interface McubootImage {
  readonly loadAddr: number;
  readonly hdrSize: number;
  readonly protectTlvSize: number;
  readonly imgSize: number;
  readonly flags: number;
  readonly version: {
    readonly major: number;
    readonly minor: number;
    readonly revision: number;
    readonly build: number;
  };
  readonly body: { readonly start: number; readonly end: number };
  /** The image hash covers bytes [0, hashedEnd): header, body and protected TLV area. */
  readonly hashedEnd: number;
  /** End of the unprotected TLV area; the slot trailer or padding may follow. */
  readonly end: number;
  readonly tlvs: readonly McubootTlv[];
  /** The first SHA256/384/512 entry of the unprotected area, as bootutil takes it. */
  readonly hash?: { readonly algorithm: 'sha256' | 'sha384' | 'sha512'; readonly tlv: McubootTlv };
  readonly signatures: readonly McubootSignature[];
  /** A SIG_PURE entry: signatures cover bytes [0, hashedEnd) themselves, not their hash. */
  readonly pure: boolean;
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** Cheap sniff: the little-endian image magic at offset 0. */
export function isMcuboot(buf: Uint8Array): boolean {
  return buf.length >= 4 && u32(buf, 0) === MCUBOOT_MAGIC;
}

export function mcubootVersionText(v: McubootImage['version']): string {
  return `${v.major}.${v.minor}.${v.revision}+${v.build}`;
}

function tlvArea(
  buf: Uint8Array,
  at: number,
  magic: number,
  isProtected: boolean,
  out: McubootTlv[],
): number {
  const what = isProtected ? 'protected TLV area' : 'TLV area';
  if (at + INFO_LEN > buf.length)
    malformed(`${what} header at offset ${at} runs past the end (${buf.length})`);
  const found = u16(buf, at);
  if (found !== magic)
    malformed(`${what} at offset ${at}: magic 0x${found.toString(16)}, expected 0x${magic.toString(16)}`);
  const total = u16(buf, at + 2);
  const end = at + total;
  if (total < INFO_LEN)
    malformed(`${what} at offset ${at} declares ${total} bytes, less than its own header`);
  if (end > buf.length)
    malformed(`${what} at offset ${at} of ${total} bytes runs past the end (${buf.length})`);
  let pos = at + INFO_LEN;
  while (pos < end) {
    if (out.length >= MAX_TLVS) malformed(`more than ${MAX_TLVS} TLVs at offset ${pos}`);
    if (pos + 4 > end) malformed(`TLV header at offset ${pos} runs past the ${what} end (${end})`);
    const type = u16(buf, pos);
    const len = u16(buf, pos + 2);
    if (pos + 4 + len > end)
      malformed(
        `TLV 0x${type.toString(16)} at offset ${pos} of ${len} bytes runs past the ${what} end (${end})`,
      );
    const name = TLV_NAMES.get(type) ?? `0x${type.toString(16).padStart(4, '0')}`;
    out.push({ type, name, offset: pos, start: pos + 4, end: pos + 4 + len, protected: isProtected });
    pos += 4 + len;
  }
  return end;
}

/** Parse an MCUboot image at offset 0; a CoreError naming the offset when a length or magic lies. */
export function parseMcuboot(buf: Uint8Array): McubootImage {
  if (buf.length < HEADER_LEN) malformed(`MCUboot header of ${buf.length} bytes, need ${HEADER_LEN}`);
  if (!isMcuboot(buf)) malformed(`no MCUboot magic at offset 0`);
  const hdrSize = u16(buf, 8);
  const protectTlvSize = u16(buf, 10);
  const imgSize = u32(buf, 12);
  if (hdrSize < HEADER_LEN) malformed(`ih_hdr_size ${hdrSize} at offset 8 is smaller than the header`);
  const bodyEnd = hdrSize + imgSize;
  if (bodyEnd > buf.length)
    malformed(`image body [${hdrSize}, ${bodyEnd}) runs past the end (${buf.length}): truncated image`);
  const tlvs: McubootTlv[] = [];
  let at = bodyEnd;
  if (protectTlvSize > 0) {
    const end = tlvArea(buf, at, PROT_INFO_MAGIC, true, tlvs);
    // bootutil refuses an area whose own total disagrees with the header's: the hash would not cover it.
    if (end - at !== protectTlvSize)
      malformed(
        `protected TLV area at offset ${at} is ${end - at} bytes, ih_protect_tlv_size says ${protectTlvSize}`,
      );
    at = end;
  } else if (at + 2 <= buf.length && u16(buf, at) === PROT_INFO_MAGIC)
    malformed(`protected TLV area at offset ${at} but ih_protect_tlv_size is 0`);
  const hashedEnd = at;
  const firstUnprotected = tlvs.length;
  const end = tlvArea(buf, at, INFO_MAGIC, false, tlvs);

  let hash: McubootImage['hash'];
  let pure = false;
  let key: McubootTlv | undefined;
  const signatures: McubootSignature[] = [];
  for (const t of tlvs.slice(firstUnprotected)) {
    const algorithm = HASHES[t.type];
    if (algorithm && !hash) hash = { algorithm, tlv: t };
    else if (t.type === MCUBOOT_TLV.KEYHASH || t.type === MCUBOOT_TLV.PUBKEY) key = t;
    else if (t.type === MCUBOOT_TLV.SIG_PURE) pure = true;
    else {
      const scheme = SCHEMES[t.type];
      if (!scheme) continue;
      signatures.push(key ? { scheme, tlv: t, key } : { scheme, tlv: t });
      key = undefined;
    }
  }
  return {
    loadAddr: u32(buf, 4),
    hdrSize,
    protectTlvSize,
    imgSize,
    flags: u32(buf, 16),
    version: { major: buf[20]!, minor: buf[21]!, revision: u16(buf, 22), build: u32(buf, 24) },
    body: { start: hdrSize, end: bodyEnd },
    hashedEnd,
    end,
    tlvs,
    ...(hash && { hash }),
    signatures,
    pure,
  };
}

import { constants, createPublicKey, hash, sign, type KeyObject } from 'node:crypto';

/**
 * Signs MCUboot images the way imgtool does (mcu-tools/mcuboot scripts/imgtool/image.py `create`,
 * keys/rsa.py, keys/ecdsa.py, keys/ed25519.py), since imgtool itself is not packaged for Debian:
 *
 * - header: u32 magic 0x96f3b83d, u32 load_addr, u16 hdr_size, u16 protect_tlv_size, u32 img_size,
 *   u32 flags, version {u8 major, u8 minor, u16 revision, u32 build_num}, u32 pad; little-endian,
 *   zero-padded to hdr_size;
 * - the body, then the protected TLV area (magic 0x6908, u16 total incl. its 4-byte header, equal
 *   to protect_tlv_size) when there are protected TLVs, then the TLV area (magic 0x6907);
 * - TLV entries are {u16 type, u16 len, value};
 * - the hash TLV (SHA256, or SHA384 for P-384 keys) is over header + body + protected area;
 * - KEYHASH is that hash over the public key as MCUboot embeds it: PKCS#1 RSAPublicKey DER for RSA,
 *   SubjectPublicKeyInfo DER for EC and Ed25519; PUBKEY carries those bytes themselves;
 * - RSA signs the covered bytes with PSS (SHA-256, MGF1-SHA-256, salt 32), which is PSS over the hash;
 *   ECDSA signs them with the hash (DER signature), i.e. ECDSA over the hash; Ed25519 signs the
 *   hash value itself as its message.
 */

export interface McubootBuildOptions {
  /** The signing key (RSA 2048/3072, EC P-256/P-384, Ed25519); absent: an unsigned image (hash only). */
  readonly key?: KeyObject;
  readonly body: Uint8Array;
  /** Header size incl. padding; imgtool's default is 32, Zephyr builds use 0x200. */
  readonly hdrSize?: number;
  readonly loadAddr?: number;
  readonly flags?: number;
  readonly version?: { major: number; minor: number; revision: number; build: number };
  /** PUBKEY instead of KEYHASH (imgtool --public-key-format full). */
  readonly embedPublicKey?: boolean;
  /** Protected TLVs, e.g. SEC_CNT (0x50) with a u32 counter. */
  readonly protectedTlvs?: readonly { type: number; value: Uint8Array }[];
}

const tlv = (type: number, value: Uint8Array): Buffer => {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(type, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value]);
};

const area = (magic: number, entries: Buffer[]): Buffer => {
  const body = Buffer.concat(entries);
  const h = Buffer.alloc(4);
  h.writeUInt16LE(magic, 0);
  h.writeUInt16LE(body.length + 4, 2);
  return Buffer.concat([h, body]);
};

/** The public key bytes MCUboot embeds for this key (see above). */
export function mcubootPublicBytes(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.asymmetricKeyType === 'rsa'
    ? pub.export({ type: 'pkcs1', format: 'der' })
    : pub.export({ type: 'spki', format: 'der' });
}

function hashFor(key: KeyObject | undefined): 'sha256' | 'sha384' {
  return key?.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
}

function signatureTlv(key: KeyObject, covered: Buffer, digest: Buffer): Buffer {
  const t = key.asymmetricKeyType;
  if (t === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength;
    const type = bits === 2048 ? 0x20 : bits === 3072 ? 0x23 : undefined;
    if (type === undefined) throw new Error(`MCUboot signs with RSA 2048 or 3072, not ${bits}`);
    const sig = sign('sha256', covered, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    return tlv(type, sig);
  }
  if (t === 'ec') return tlv(0x22, sign(hashFor(key), covered, { key, dsaEncoding: 'der' }));
  if (t === 'ed25519') return tlv(0x24, sign(null, digest, key));
  throw new Error(`MCUboot has no signature TLV for ${t} keys`);
}

export function buildMcubootImage(opts: McubootBuildOptions): Buffer {
  const hdrSize = opts.hdrSize ?? 32;
  const prot = opts.protectedTlvs?.length
    ? area(
        0x6908,
        opts.protectedTlvs.map((p) => tlv(p.type, p.value)),
      )
    : Buffer.alloc(0);
  const header = Buffer.alloc(hdrSize);
  header.writeUInt32LE(0x96f3b83d, 0);
  header.writeUInt32LE(opts.loadAddr ?? 0, 4);
  header.writeUInt16LE(hdrSize, 8);
  header.writeUInt16LE(prot.length, 10);
  header.writeUInt32LE(opts.body.length, 12);
  header.writeUInt32LE(opts.flags ?? 0, 16);
  const v = opts.version ?? { major: 1, minor: 0, revision: 0, build: 0 };
  header.writeUInt8(v.major, 20);
  header.writeUInt8(v.minor, 21);
  header.writeUInt16LE(v.revision, 22);
  header.writeUInt32LE(v.build, 24);
  const covered = Buffer.concat([header, opts.body, prot]);
  const alg = hashFor(opts.key);
  const digest = hash(alg, covered, 'buffer');
  const entries = [tlv(alg === 'sha384' ? 0x11 : 0x10, digest)];
  if (opts.key) {
    const pub = mcubootPublicBytes(opts.key);
    entries.push(opts.embedPublicKey ? tlv(0x02, pub) : tlv(0x01, hash(alg, pub, 'buffer')));
    entries.push(signatureTlv(opts.key, covered, digest));
  }
  return Buffer.concat([covered, area(0x6907, entries)]);
}

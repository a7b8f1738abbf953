import { createHash, timingSafeEqual } from 'node:crypto';
import { parseAlgorithmIdentifier } from './algorithm.ts';
import { readOne, seq, utf8 } from './der.ts';
import { malformed } from './error.ts';
import { describePbe } from './keys/pbe.ts';

/**
 * Java KeyStore (JKS, magic FEEDFEED) and JCEKS (CECECECE): a flat big-endian file of entries with
 * certificates in the clear and private keys sealed under the key password. Secret-key entries of
 * JCEKS are Java-serialised objects whose length cannot be known without a Java deserialiser, so
 * reading stops there and says so.
 */

export const JKS_MAGIC = 0xfeedfeed;
export const JCEKS_MAGIC = 0xcececece;

const MAX_ENTRIES = 10_000;
const MAX_CHAIN = 100;

/** Key protectors the Sun providers write; anything else is named by describePbe. */
const PROTECTORS: Record<string, string> = {
  '1.3.6.1.4.1.42.2.17.1.1': 'jks-key-protector',
  '1.3.6.1.4.1.42.2.19.1': 'PBEWithMD5AndTripleDES',
};

export interface JksCertificate {
  /** 'X.509' in every store written since JDK 1.2 (version 2); absent in version 1 stores. */
  readonly type?: string;
  readonly start: number;
  readonly end: number;
}

export interface JksEntry {
  readonly kind: 'private-key' | 'trusted-certificate' | 'secret-key';
  readonly alias: string;
  /** Creation time, epoch ms. */
  readonly timestamp: number;
  /** Where the entry's tag begins. */
  readonly offset: number;
  /** The EncryptedPrivateKeyInfo DER of a private-key entry. */
  readonly key?: { readonly start: number; readonly end: number };
  /** Its protection scheme. */
  readonly cipher?: string;
  /** The chain of a private-key entry (leaf first) or the one trusted certificate. */
  readonly certificates: readonly JksCertificate[];
}

export interface JavaKeystore {
  readonly format: 'jks' | 'jceks';
  readonly version: number;
  readonly entries: readonly JksEntry[];
  /** The SHA-1 integrity digest at the end, absent when reading stopped early. */
  readonly digest?: { readonly start: number; readonly end: number };
  /** Why the entries after some point were not read (a JCEKS secret key), with its offset. */
  readonly stopped?: { readonly offset: number; readonly reason: string };
}

export function isJavaKeystore(buf: Uint8Array): boolean {
  if (buf.length < 4) return false;
  const m = ((buf[0]! << 24) | (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!) >>> 0;
  return m === JKS_MAGIC || m === JCEKS_MAGIC;
}

/** A cursor that refuses to move past the end, naming what it was reading and where. */
class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  need(n: number, what: string): void {
    if (n > this.buf.length - this.pos)
      malformed(
        `truncated ${what} at offset ${this.pos}: ${n} octets needed, ${this.buf.length - this.pos} left`,
      );
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }
  u64(what: string): number {
    const hi = this.u32(what);
    const lo = this.u32(what);
    if (hi > 0x1fffff) malformed(`${what} out of range at offset ${this.pos - 8}`);
    return hi * 0x1_0000_0000 + lo;
  }
  /** Java's writeUTF: a 16-bit length and modified UTF-8, which is UTF-8 for every real alias. */
  utf(what: string): string {
    const n = this.u16(what);
    this.need(n, what);
    const s = utf8(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  blob(what: string): { start: number; end: number } {
    const at = this.pos;
    const n = this.u32(what);
    if (n > this.buf.length - this.pos)
      malformed(`${what} of ${n} octets at offset ${at} runs past the end (${this.buf.length})`);
    const start = this.pos;
    this.pos += n;
    return { start, end: this.pos };
  }
}

export function parseJavaKeystore(buf: Uint8Array): JavaKeystore {
  const r = new Reader(buf);
  const magic = r.u32('magic');
  if (magic !== JKS_MAGIC && magic !== JCEKS_MAGIC)
    malformed(`not a Java keystore: magic 0x${magic.toString(16)} at offset 0`);
  const format = magic === JKS_MAGIC ? 'jks' : 'jceks';
  const version = r.u32('version');
  if (version !== 1 && version !== 2) malformed(`keystore version ${version} at offset 4`);
  const count = r.u32('entry count');
  if (count > MAX_ENTRIES) malformed(`${count} entries at offset 8 (at most ${MAX_ENTRIES})`);
  const entries: JksEntry[] = [];
  const cert = (what: string): JksCertificate => {
    const type = version === 2 ? r.utf(`${what} type`) : undefined;
    const b = r.blob(what);
    return type === undefined ? b : { type, ...b };
  };
  for (let i = 0; i < count; i++) {
    const offset = r.pos;
    const tag = r.u32('entry tag');
    const alias = r.utf('alias');
    const timestamp = r.u64('timestamp');
    if (tag === 1) {
      const key = r.blob('encrypted key');
      const n = r.u32('chain length');
      if (n > MAX_CHAIN) malformed(`chain of ${n} certificates at offset ${r.pos - 4}`);
      const certificates: JksCertificate[] = [];
      for (let j = 0; j < n; j++) certificates.push(cert('chain certificate'));
      entries.push({
        kind: 'private-key',
        alias,
        timestamp,
        offset,
        key,
        cipher: protector(buf, key),
        certificates,
      });
    } else if (tag === 2) {
      entries.push({
        kind: 'trusted-certificate',
        alias,
        timestamp,
        offset,
        certificates: [cert('certificate')],
      });
    } else if (tag === 3 && format === 'jceks') {
      entries.push({ kind: 'secret-key', alias, timestamp, offset, certificates: [] });
      return {
        format,
        version,
        entries,
        stopped: {
          offset: r.pos,
          reason: 'JCEKS secret-key entry is a serialised Java object; later entries not read',
        },
      };
    } else malformed(`unknown entry tag ${tag} at offset ${offset}`);
  }
  const left = buf.length - r.pos;
  if (left !== 20)
    malformed(`${left} octets after the last entry at offset ${r.pos}, expected a 20-octet SHA-1`);
  return { format, version, entries, digest: { start: r.pos, end: buf.length } };
}

function protector(buf: Uint8Array, key: { start: number; end: number }): string {
  const [algT] = seq(buf, readOne(buf, key.start, key.end), 'EncryptedPrivateKeyInfo');
  const { oid } = parseAlgorithmIdentifier(buf, algT);
  return PROTECTORS[oid] ?? describePbe(buf, algT!);
}

/**
 * The store's integrity check: SHA-1 over the password (UTF-16BE), the words "Mighty Aphrodite"
 * (the Sun provider's constant) and every octet before the digest.
 */
export function verifyJavaKeystore(
  buf: Uint8Array,
  ks: JavaKeystore,
  password: string,
): { status: 'valid' | 'invalid' | 'unverified'; reason?: string } {
  if (!ks.digest) return { status: 'unverified', reason: ks.stopped?.reason ?? 'no digest' };
  const pw = Buffer.alloc(password.length * 2);
  for (let i = 0; i < password.length; i++) pw.writeUInt16BE(password.charCodeAt(i), i * 2);
  const actual = createHash('sha1')
    .update(pw)
    .update('Mighty Aphrodite', 'utf8')
    .update(buf.subarray(0, ks.digest.start))
    .digest();
  return timingSafeEqual(actual, buf.subarray(ks.digest.start, ks.digest.end))
    ? { status: 'valid' }
    : { status: 'invalid', reason: 'keystore digest does not match (wrong password or altered content)' };
}

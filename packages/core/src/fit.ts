import { constants, createPublicKey, hash, verify as nodeVerify, type KeyObject } from 'node:crypto';
import {
  fdtBytes,
  fdtCells,
  fdtChild,
  fdtProp,
  fdtRegions,
  fdtString,
  fdtStrings,
  parseFdt,
  type Fdt,
  type FdtNode,
  type Region,
} from './fdt.ts';
import { malformed } from './error.ts';
import { bitString, integer, objectIdentifier, sequence, tlv } from './keys/der-write.ts';
import { keyInfoFromSpki, viaNode } from './keys/key-info.ts';
import type { KeyInfo, Verification } from './observation.ts';

// The FDT reader is part of this module's public surface: one index line serves both.
export * from './fdt.ts';

/**
 * U-Boot Flattened Image Tree semantics on top of the FDT reader (doc/usage/fit/signature.rst):
 * images with their hash-* and signature-* nodes, configurations with signature-* nodes whose value
 * covers the FDT regions of the nodes listed in hashed-nodes, and the public keys `mkimage -K` writes
 * into a control DTB under /signature. Keys become SubjectPublicKeyInfo so they share the key
 * identity of the same key seen as PEM or in a certificate.
 */

export interface FitHash {
  readonly path: string;
  readonly offset: number;
  readonly algo: string;
  /** The stored value, hex. */
  readonly value: string;
  /** What the image data hashes to, hex; absent when the algorithm or the data is unavailable. */
  readonly computed?: string;
  readonly status: Verification;
  readonly reason?: string;
}

export interface FitSignature {
  readonly kind: 'image' | 'configuration';
  /** Path of the signature node, e.g. /configurations/conf-1/signature-1. */
  readonly path: string;
  readonly offset: number;
  /** As written: "sha256,rsa2048". */
  readonly algo: string;
  readonly hashAlgorithm: string;
  /** rsa2048, ecdsa256, ... */
  readonly cryptoAlgorithm: string;
  readonly padding?: string;
  readonly keyNameHint?: string;
  readonly signerName?: string;
  readonly signerVersion?: string;
  /** Epoch ms. */
  readonly timestamp?: number;
  readonly hashedNodes?: readonly string[];
  /** The signature bytes; absent on an unsigned template node. */
  readonly value?: Region;
  /** The bytes the signature covers, in order; absent with `problem` when they cannot be determined. */
  readonly signed?: readonly Region[];
  readonly problem?: string;
}

export interface FitImage {
  readonly name: string;
  readonly path: string;
  readonly offset: number;
  readonly type?: string;
  /** The image payload, inline (data) or external (data-offset / data-position). */
  readonly data?: Region;
  readonly hashes: readonly FitHash[];
  readonly signatures: readonly FitSignature[];
}

export interface FitConfiguration {
  readonly name: string;
  readonly path: string;
  readonly offset: number;
  /** Paths of the images it boots (kernel, fdt, ramdisk, loadables, ...). */
  readonly images: readonly string[];
  readonly signatures: readonly FitSignature[];
}

/** A public key from a control DTB's /signature node. */
export interface FitKey {
  /** The node name without its "key-" prefix: what signatures give as key-name-hint. */
  readonly name: string;
  readonly path: string;
  readonly offset: number;
  readonly algo?: string;
  /** "conf" or "image": what U-Boot insists this key verified before booting. */
  readonly required?: string;
  readonly spki: Buffer;
  readonly key: KeyInfo;
}

export interface Fit {
  readonly fdt: Fdt;
  readonly description?: string;
  readonly images: readonly FitImage[];
  readonly configurations: readonly FitConfiguration[];
  readonly keys: readonly FitKey[];
  /** Keys that could not be rebuilt, with the reason. */
  readonly badKeys: readonly { readonly path: string; readonly offset: number; readonly reason: string }[];
}

// fit_config_check_sig leaves the payload properties out: the image hashes vouch for the data.
const EXCLUDED_PROPS = ['data', 'data-size', 'data-position', 'data-offset'];
const MAX_HASHED_NODES = 100;
// The configuration properties that name images (U-Boot's FIT_*_PROP).
const IMAGE_PROPS = ['kernel', 'fdt', 'ramdisk', 'loadables', 'firmware', 'setup', 'fpga', 'standalone'];
const MAX_ITEMS = 1024;

const HASHES: Record<string, string> = {
  sha1: 'sha1',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  md5: 'md5',
};

let crcTable: Uint32Array | undefined;
function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of data) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function imageData(buf: Uint8Array, fdt: Fdt, node: FdtNode): Region | undefined {
  const inline = fdtProp(node, 'data');
  if (inline) return { start: inline.start, end: inline.end };
  const size = fdtCells(buf, node, 'data-size')?.[0];
  const rel = fdtCells(buf, node, 'data-offset')?.[0];
  const pos = fdtCells(buf, node, 'data-position')?.[0];
  if (size === undefined || (rel === undefined && pos === undefined)) return undefined;
  // External data follows the blob, 4-byte aligned (mkimage -E); data-position is from the blob start.
  const start = fdt.base + (pos ?? ((fdt.totalSize + 3) & ~3) + rel!);
  if (start + size > buf.length)
    malformed(`FIT image ${node.path} data [${start}, +${size}) runs past the end (${buf.length})`);
  return { start, end: start + size };
}

function checkHash(buf: Uint8Array, node: FdtNode, data: Region | undefined): FitHash {
  const algo = fdtString(buf, node, 'algo') ?? '';
  const v = fdtBytes(buf, node, 'value');
  const base = { path: node.path, offset: node.offset, algo, value: v ? hex(v) : '' };
  if (!v) return { ...base, status: 'unverified', reason: `hash node ${node.path} has no value` };
  if (!data) return { ...base, status: 'unverified', reason: `image of ${node.path} has no data to hash` };
  const bytes = buf.subarray(data.start, data.end);
  let computed: string;
  if (algo === 'crc32') computed = crc32(bytes).toString(16).padStart(8, '0');
  else if (HASHES[algo]) computed = hash(HASHES[algo], bytes, 'hex');
  else
    return { ...base, status: 'unverified', reason: `hash algorithm ${algo || '(none)'} is not supported` };
  return computed === base.value
    ? { ...base, computed, status: 'valid' }
    : {
        ...base,
        computed,
        status: 'invalid',
        reason: `image data ${algo} is ${computed}, ${node.path} says ${base.value}`,
      };
}

function signatureNode(
  buf: Uint8Array,
  fdt: Fdt,
  node: FdtNode,
  kind: FitSignature['kind'],
  data: Region | undefined,
): FitSignature {
  const algo = fdtString(buf, node, 'algo') ?? '';
  const [hashAlgorithm = '', cryptoAlgorithm = ''] = algo.split(',');
  const value = fdtProp(node, 'value');
  const ts = fdtCells(buf, node, 'timestamp')?.[0];
  const hashedNodes = fdtStrings(buf, node, 'hashed-nodes');
  const padding = fdtString(buf, node, 'padding');
  const keyNameHint = fdtString(buf, node, 'key-name-hint');
  const signerName = fdtString(buf, node, 'signer-name');
  const signerVersion = fdtString(buf, node, 'signer-version');
  const sig = {
    kind,
    path: node.path,
    offset: node.offset,
    algo,
    hashAlgorithm,
    cryptoAlgorithm,
    ...(padding !== undefined && { padding }),
    ...(keyNameHint !== undefined && { keyNameHint }),
    ...(signerName !== undefined && { signerName }),
    ...(signerVersion !== undefined && { signerVersion }),
    ...(ts !== undefined && { timestamp: ts * 1000 }),
    ...(hashedNodes && { hashedNodes }),
    ...(value && { value: { start: value.start, end: value.end } }),
  };
  if (kind === 'image')
    return data ? { ...sig, signed: [data] } : { ...sig, problem: `image of ${node.path} has no data` };
  if (!hashedNodes) return { ...sig, problem: `${node.path} has no hashed-nodes list` };
  if (hashedNodes.length > MAX_HASHED_NODES)
    return {
      ...sig,
      problem: `${node.path} lists ${hashedNodes.length} hashed nodes, more than ${MAX_HASHED_NODES}`,
    };
  const strings = fdtCells(buf, node, 'hashed-strings');
  const regions = [...fdtRegions(buf, fdt, hashedNodes, EXCLUDED_PROPS)];
  if (strings) {
    const size = strings[1];
    if (size === undefined || size > fdt.sizeStrings)
      return {
        ...sig,
        problem: `${node.path} hashed-strings exceeds the strings block (${fdt.sizeStrings})`,
      };
    // U-Boot always starts the strings region at the block's start, whatever the first cell says.
    const start = fdt.base + fdt.offStrings;
    regions.push({ start, end: start + size });
  }
  return { ...sig, signed: regions };
}

function unsignedInt(cells: readonly number[]): Buffer {
  const b = Buffer.alloc(cells.length * 4 + 1);
  cells.forEach((c, i) => b.writeUInt32BE(c, 1 + 4 * i));
  return b; // the leading zero keeps the INTEGER positive; integer() drops it when not needed
}

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
// U-Boot names curves the OpenSSL way in ecdsa,curve.
const CURVES: Record<string, { oid: string; bytes: number }> = {
  prime256v1: { oid: '1.2.840.10045.3.1.7', bytes: 32 },
  secp384r1: { oid: '1.3.132.0.34', bytes: 48 },
  secp521r1: { oid: '1.3.132.0.35', bytes: 66 },
};

const big = (cells: readonly number[]): bigint => cells.reduce((v, c) => (v << 32n) | BigInt(c), 0n);

/**
 * U-Boot verifies with the precomputed Montgomery values, not with the modulus alone; a key whose
 * rsa,n0-inverse or rsa,r-squared belong to another modulus is not the key its modulus says.
 */
function checkMontgomery(buf: Uint8Array, node: FdtNode, cells: readonly number[], bits: number): void {
  const n = big(cells);
  if ((n & 1n) === 0n) malformed(`${node.path} rsa,modulus is even`);
  const n0 = fdtCells(buf, node, 'rsa,n0-inverse');
  if (n0) {
    // n0-inverse is -1/n mod 2^32, so n * n0-inverse + 1 vanishes modulo 2^32.
    const ok = n0.length === 1 && ((n & 0xffffffffn) * BigInt(n0[0]!) + 1n) % (1n << 32n) === 0n;
    if (!ok) malformed(`${node.path} rsa,n0-inverse does not belong to its modulus`);
  }
  const r2 = fdtCells(buf, node, 'rsa,r-squared');
  if (r2 && big(r2) !== (1n << BigInt(2 * bits)) % n)
    malformed(`${node.path} rsa,r-squared does not belong to its modulus`);
}

function rsaSpki(buf: Uint8Array, node: FdtNode): Buffer {
  const n = fdtCells(buf, node, 'rsa,modulus');
  const bits = fdtCells(buf, node, 'rsa,num-bits')?.[0];
  if (!n || n.length === 0) malformed(`${node.path} at offset ${node.offset} has no rsa,modulus`);
  if (n.length > 512) malformed(`${node.path} rsa,modulus of ${n.length} words is too large`);
  if (bits !== undefined && (bits > n.length * 32 || bits <= (n.length - 1) * 32))
    malformed(`${node.path} rsa,num-bits ${bits} disagrees with a modulus of ${n.length} words`);
  // rsa,exponent is a 64-bit value; U-Boot assumes 65537 when it is missing.
  const e = fdtCells(buf, node, 'rsa,exponent') ?? [0, 0x10001];
  if (e.length !== 2) malformed(`${node.path} rsa,exponent is not a 64-bit value`);
  checkMontgomery(buf, node, n, bits ?? n.length * 32);
  return sequence(
    sequence(objectIdentifier(RSA_ENCRYPTION), tlv(0x05)),
    bitString(sequence(integer(unsignedInt(n)), integer(unsignedInt(e)))),
  );
}

function ecdsaSpki(buf: Uint8Array, node: FdtNode): Buffer {
  const name = fdtString(buf, node, 'ecdsa,curve') ?? '';
  const curve = CURVES[name];
  if (!curve) malformed(`${node.path} names curve ${name || '(none)'}, which is not read`);
  const x = fdtBytes(buf, node, 'ecdsa,x-point');
  const y = fdtBytes(buf, node, 'ecdsa,y-point');
  if (x?.length !== curve.bytes || y?.length !== curve.bytes)
    malformed(`${node.path} needs ${curve.bytes}-byte ecdsa,x-point and ecdsa,y-point`);
  return sequence(
    sequence(objectIdentifier(EC_PUBLIC_KEY), objectIdentifier(curve.oid)),
    bitString(Buffer.concat([Uint8Array.of(4), x, y])),
  );
}

function readKey(buf: Uint8Array, node: FdtNode): FitKey {
  const algo = fdtString(buf, node, 'algo');
  const built = fdtProp(node, 'rsa,modulus') ? rsaSpki(buf, node) : ecdsaSpki(buf, node);
  // Through OpenSSL and back, so a point off the curve or a zero modulus is refused here.
  const spki = viaNode('KEY_MALFORMED', `${node.path} public key`, () =>
    createPublicKey({ key: built, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' }),
  );
  const required = fdtString(buf, node, 'required');
  return {
    name: node.name.startsWith('key-') ? node.name.slice('key-'.length) : node.name,
    path: node.path,
    offset: node.offset,
    ...(algo !== undefined && { algo }),
    ...(required !== undefined && { required }),
    spki,
    key: keyInfoFromSpki(spki),
  };
}

const items = (n: FdtNode | undefined, prefix?: string): FdtNode[] => {
  const list = (n?.children ?? []).filter((c) => !prefix || c.name.startsWith(prefix));
  if (list.length > MAX_ITEMS) malformed(`${n?.path} has ${list.length} entries, more than ${MAX_ITEMS}`);
  return list;
};

/** Parse a FIT image or a control DTB at `base`. CoreError when the blob lies. */
export function parseFit(buf: Uint8Array, base = 0): Fit {
  const fdt = parseFdt(buf, base);
  const root = fdt.root;
  const images = items(fdtChild(root, 'images')).map((node): FitImage => {
    const data = imageData(buf, fdt, node);
    const type = fdtString(buf, node, 'type');
    return {
      name: node.name,
      path: node.path,
      offset: node.offset,
      ...(type !== undefined && { type }),
      ...(data && { data }),
      hashes: items(node, 'hash').map((h) => checkHash(buf, h, data)),
      signatures: items(node, 'signature').map((s) => signatureNode(buf, fdt, s, 'image', data)),
    };
  });
  const configurations = items(fdtChild(root, 'configurations')).map((node): FitConfiguration => ({
    name: node.name,
    path: node.path,
    offset: node.offset,
    images: IMAGE_PROPS.flatMap((p) => fdtStrings(buf, node, p) ?? []).map((name) => `/images/${name}`),
    signatures: items(node, 'signature').map((s) => signatureNode(buf, fdt, s, 'configuration', undefined)),
  }));
  const keys: FitKey[] = [];
  const badKeys: { path: string; offset: number; reason: string }[] = [];
  // RSA keys are written as key-<name>; mkimage 2023.01 writes ECDSA keys under the bare name.
  for (const node of items(fdtChild(root, 'signature'))) {
    if (!fdtProp(node, 'rsa,modulus') && !fdtProp(node, 'ecdsa,curve')) continue;
    try {
      keys.push(readKey(buf, node));
    } catch (err) {
      badKeys.push({ path: node.path, offset: node.offset, reason: (err as Error).message });
    }
  }
  const description = fdtString(buf, root, 'description');
  return {
    fdt,
    ...(description !== undefined && { description }),
    images,
    configurations,
    keys,
    badKeys,
  };
}

/** The bytes a signature covers, concatenated in the order U-Boot hashes them. */
export function fitSignedBytes(buf: Uint8Array, sig: FitSignature): Buffer | undefined {
  return sig.signed && Buffer.concat(sig.signed.map((r) => buf.subarray(r.start, r.end)));
}

export interface FitCheck {
  readonly status: Verification;
  readonly reason?: string;
}

function cryptoVerify(key: KeyObject, sig: FitSignature, data: Buffer, value: Uint8Array): boolean {
  const h = HASHES[sig.hashAlgorithm];
  if (!h || h === 'md5')
    throw new Error(`hash ${sig.hashAlgorithm || '(none)'} is not used by FIT signatures`);
  if (sig.cryptoAlgorithm.startsWith('rsa')) {
    if (key.asymmetricKeyType !== 'rsa') return false;
    const pss = sig.padding === 'pss';
    if (sig.padding !== undefined && !pss && sig.padding !== 'pkcs-1.5')
      throw new Error(`padding ${sig.padding} is not supported`);
    return nodeVerify(
      h,
      data,
      pss
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }
        : key,
      value,
    );
  }
  if (sig.cryptoAlgorithm.startsWith('ecdsa')) {
    if (key.asymmetricKeyType !== 'ec') return false;
    // U-Boot stores r and s side by side at the curve's width, not as a DER SEQUENCE.
    return nodeVerify(h, data, { key, dsaEncoding: 'ieee-p1363' }, value);
  }
  throw new Error(`signature algorithm ${sig.algo || '(none)'} is not supported`);
}

/**
 * Check a FIT signature with the key in `spki`. A configuration signature only means something when
 * it covers the configuration node and every image it boots, and those images are only as good as
 * their hash nodes, so all three are part of the verdict.
 */
export function verifyFitSignature(buf: Uint8Array, fit: Fit, sig: FitSignature, spki: Uint8Array): FitCheck {
  if (!sig.value) return { status: 'unverified', reason: `${sig.path} has no value` };
  const data = fitSignedBytes(buf, sig);
  if (!data) return { status: 'unverified', reason: sig.problem ?? `${sig.path} covers nothing` };
  let ok: boolean;
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    ok = cryptoVerify(key, sig, data, buf.subarray(sig.value.start, sig.value.end));
  } catch (err) {
    return { status: 'unverified', reason: (err as Error).message };
  }
  if (!ok) return { status: 'invalid', reason: `${sig.algo} signature at ${sig.path} does not verify` };
  if (sig.kind === 'configuration') {
    const conf = sig.path.slice(0, sig.path.lastIndexOf('/'));
    const covered = new Set(sig.hashedNodes);
    if (!covered.has(conf))
      return { status: 'invalid', reason: `hashed-nodes of ${sig.path} leave out the configuration ${conf}` };
    const config = fit.configurations.find((c) => c.path === conf);
    const unsigned = config?.images.find((p) => !covered.has(p));
    if (unsigned)
      return { status: 'invalid', reason: `${conf} boots ${unsigned}, which ${sig.path} does not cover` };
    for (const img of fit.images) {
      if (!covered.has(img.path)) continue;
      const bad = img.hashes.find((h) => covered.has(h.path) && h.status === 'invalid');
      if (bad) return { status: 'invalid', reason: bad.reason ?? `${bad.path} does not match its image` };
      if (!img.hashes.some((h) => covered.has(h.path) && h.status === 'valid'))
        return { status: 'unverified', reason: `no signed hash of ${img.path} could be checked` };
    }
  }
  return { status: 'valid' };
}

import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { FDT_MAGIC, isFdt, parseFit, pemBlocks, type SignatureSummary } from '@keywarden/core';
import { assetId, keyRef, type AssetRow, type Store } from '@keywarden/store';

/**
 * The public keys of the estate, with their bytes, for the post-scan signer pass. The store keeps a
 * key's identity but not its bytes, so certificates give theirs from the stored DER and public key
 * files (PEM, DER, U-Boot control DTBs) are read again from where the scan saw them; a key whose
 * bytes no longer hash to the stored identity is left out. Only public material is read or kept.
 */

export interface EstateKey {
  readonly spki: Buffer;
  readonly keyId: string;
  readonly algorithm: string;
  readonly size?: number;
  readonly curve?: string;
  /** Names signatures may use for it: the DTB key node's name, the file's name without extension. */
  readonly names: readonly string[];
  /** Files it was seen in. */
  readonly paths: readonly string[];
  /** When it came from a certificate: the certificate's fingerprint and subject. */
  readonly certificate?: { readonly identity: string; readonly subject?: string };
}

// Bounds on what the pass reads again: key files are small; an estate's certificate count is not.
const MAX_KEY_FILE_BYTES = 1024 * 1024;
const MAX_KEY_FILES = 20_000;
const MAX_CERTIFICATES = 500_000;
const MAX_DTB_BLOBS = 64;
const MAX_PEM_BLOCKS = 256;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const stem = (p: string): string => basename(p, extname(p));

/** Archive members (`outer.tar!/inner`) have no path of their own to read again. */
export const onDisk = (path: string): boolean => !path.includes('!/');

/** The first occurrence of `a` on disk in `format`, or undefined. */
export function diskOccurrence(a: AssetRow, format: string): AssetRow['occurrences'][number] | undefined {
  return a.occurrences.find((o) => o.format === format && onDisk(o.path));
}

/** Read a whole plain file of at most `max` bytes; undefined when it is gone, not a file or larger. */
export async function readBounded(path: string, max: number): Promise<Buffer | undefined> {
  let fh;
  try {
    // Non-blocking, so a FIFO put where a file was cannot stall the pass.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > max) return undefined;
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    return bytesRead === st.size ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

function spkiOf(der: Buffer, type: 'spki' | 'pkcs1'): Buffer | undefined {
  try {
    return createPublicKey({ key: der, format: 'der', type }).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

/** Public keys a file holds, each with the name it goes by. */
function keysInFile(buf: Buffer, path: string, format: string): { spki: Buffer; name: string }[] {
  const out: { spki: Buffer; name: string }[] = [];
  if (format === 'u-boot-dtb') {
    const magic = Buffer.alloc(4);
    magic.writeUInt32BE(FDT_MAGIC);
    let pos = 0;
    for (let n = 0; n < MAX_DTB_BLOBS; n++) {
      const at = buf.indexOf(magic, pos);
      if (at < 0) break;
      pos = at + 4;
      if (!isFdt(buf, at)) continue;
      try {
        for (const k of parseFit(buf, at).keys) out.push({ spki: k.spki, name: k.name });
      } catch {
        // stray magic, or a blob the scan already reported as unparseable
      }
    }
    return out;
  }
  const name = stem(path);
  let blocks = 0;
  for (const b of pemBlocks(buf, MAX_PEM_BLOCKS)) {
    blocks++;
    const spki =
      b.label === 'PUBLIC KEY'
        ? spkiOf(b.der, 'spki')
        : b.label === 'RSA PUBLIC KEY'
          ? spkiOf(b.der, 'pkcs1')
          : undefined;
    if (spki) out.push({ spki, name });
  }
  if (blocks === 0) {
    const spki = spkiOf(buf, 'spki') ?? spkiOf(buf, 'pkcs1');
    if (spki) out.push({ spki, name });
  }
  return out;
}

/** What node:crypto makes of the key; undefined for one it cannot load (it cannot check with it either). */
function describe(spki: Buffer): { algorithm: string; size?: number; curve?: string } | undefined {
  let k;
  try {
    k = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  const d = k.asymmetricKeyDetails ?? {};
  const type = k.asymmetricKeyType ?? 'unknown';
  const algorithm = type === 'rsa' ? 'RSA' : type === 'ec' ? 'EC' : type === 'ed25519' ? 'Ed25519' : type;
  const curve =
    d.namedCurve === 'prime256v1' ? 'P-256' : d.namedCurve === 'secp384r1' ? 'P-384' : d.namedCurve;
  return {
    algorithm,
    ...(d.modulusLength !== undefined && { size: d.modulusLength }),
    ...(curve && { curve }),
  };
}

/** Every public key of the estate that a post-scan check can use. */
export async function loadEstateKeys(store: Store): Promise<EstateKey[]> {
  const out: EstateKey[] = [];
  let certs = 0;
  for await (const c of store.assets({ kind: 'certificate' })) {
    if (++certs > MAX_CERTIFICATES) break;
    const der = (c.record as { der?: string }).der;
    if (!der) continue;
    let spki: Buffer;
    try {
      spki = new X509Certificate(Buffer.from(der, 'base64')).publicKey.export({
        type: 'spki',
        format: 'der',
      });
    } catch {
      continue;
    }
    const what = describe(spki);
    if (!what) continue;
    const paths = c.occurrences.map((o) => o.path);
    out.push({
      spki,
      keyId: c.keyId ?? sha256(spki),
      ...what,
      names: [...new Set(paths.map(stem))],
      paths,
      certificate: { identity: c.identity, ...(c.subject && { subject: c.subject }) },
    });
  }
  const files = new Map<string, Buffer | undefined>();
  for await (const k of store.assets({ kind: 'key' })) {
    if (!k.keyId || (k.record as { sealed?: boolean }).sealed) continue;
    const names = new Set<string>();
    const paths: string[] = [];
    let spki: Buffer | undefined;
    for (const o of k.occurrences) {
      if (o.private || !onDisk(o.path)) continue;
      if (!files.has(o.path)) {
        if (files.size >= MAX_KEY_FILES) continue;
        files.set(o.path, await readBounded(o.path, MAX_KEY_FILE_BYTES));
      }
      const buf = files.get(o.path);
      if (!buf) continue;
      for (const found of keysInFile(buf, o.path, o.format))
        if (sha256(found.spki) === k.keyId) {
          spki = found.spki;
          names.add(found.name);
          paths.push(o.path);
        }
    }
    const what = spki && describe(spki);
    if (spki && what) out.push({ spki, keyId: k.keyId, ...what, names: [...names], paths });
  }
  return out;
}

/**
 * The signature, checked now, as its record and store columns: the signer named by `key`, the
 * pending material and the earlier reason gone (or replaced), and the signed-by edges.
 */
export function settled(
  a: AssetRow,
  key: EstateKey,
  outcome: { status: 'valid' | 'invalid'; reason?: string; signatureAlgorithm?: string },
  why: string,
): {
  patch: Parameters<Store['amendAsset']>[1];
  edges: Parameters<Store['amendAsset']>[2] & object;
} {
  const s = a.record as SignatureSummary;
  const rest: { -readonly [K in keyof SignatureSummary]?: SignatureSummary[K] } = { ...s };
  delete rest.pending;
  delete rest.reason;
  const record: SignatureSummary = {
    ...(rest as SignatureSummary),
    ...(outcome.signatureAlgorithm && { signatureAlgorithm: outcome.signatureAlgorithm }),
    signer: {
      ...s.signer,
      keyId: key.keyId,
      keyAlgorithm: key.algorithm,
      ...(key.size !== undefined && { keySize: key.size }),
      ...(key.curve && { curve: key.curve }),
      ...(key.certificate && { certificate: key.certificate.identity }),
      ...(key.certificate?.subject && { subject: key.certificate.subject }),
    },
    status: outcome.status,
    ...(outcome.reason && { reason: outcome.reason }),
  };
  const reason = `${why}; signature ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}`;
  return {
    patch: {
      record,
      keyId: key.keyId,
      algorithm: key.algorithm,
      ...(key.size !== undefined && { size: key.size }),
      ...(key.curve && { curve: key.curve }),
      ...(key.certificate?.subject && { subject: key.certificate.subject }),
    },
    edges: [
      { kind: 'signed-by', from: a.id, to: keyRef(key.keyId), reason },
      ...(key.certificate
        ? [
            {
              kind: 'signed-by' as const,
              from: a.id,
              to: assetId('certificate', key.certificate.identity),
              reason,
            },
          ]
        : []),
    ],
  };
}

import { createHash, createPublicKey, hash } from 'node:crypto';
import {
  FDT_MAGIC,
  fitSignedBytes,
  isFdt,
  parseFit,
  parseMcuboot,
  verifyFitSignature,
  verifySignature,
  type FitSignature,
  type McubootImage,
  type McubootSignature,
  type SignatureAlgorithm,
  type SignatureSummary,
} from '@keywarden/core';
import type { AssetRow, Store } from '@keywarden/store';
import { diskOccurrence, readBounded, settled, type EstateKey } from './estate-keys.ts';

/**
 * Signatures that name their key only by a hash (MCUboot KEYHASH) or a name (FIT key-name-hint,
 * the key being in U-Boot's control DTB), checked once that key is in the estate. The container is
 * read again from where the scan saw it and must still hash to what the scan recorded. Archive
 * members cannot be read again and stay 'unverified'.
 */

const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
const MAX_DTB_BLOBS = 64;

export interface Tally {
  checked: number;
  resolved: number;
  invalid: string[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The bytes MCUboot hashes to name a key: PKCS#1 RSAPublicKey for RSA, the SPKI otherwise (imgtool). */
export function mcubootKeyHash(spki: Buffer, algorithm: string): string | undefined {
  try {
    const k = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const embedded = k.asymmetricKeyType === 'rsa' ? k.export({ type: 'pkcs1', format: 'der' }) : spki;
    return hash(algorithm, embedded, 'hex');
  } catch {
    return undefined;
  }
}

// Each estate key is hashed once per algorithm, however many images ask.
const keyHashes = new WeakMap<EstateKey, Map<string, string | undefined>>();
function keyHashOf(k: EstateKey, algorithm: string): string | undefined {
  let m = keyHashes.get(k);
  if (!m) keyHashes.set(k, (m = new Map()));
  if (!m.has(algorithm)) m.set(algorithm, mcubootKeyHash(k.spki, algorithm));
  return m.get(algorithm);
}

const PSS_SHA256: SignatureAlgorithm = {
  oid: '1.2.840.113549.1.1.10',
  name: 'rsassaPss',
  pss: { hash: 'sha256', mgf: 'mgf1', mgfHash: 'sha256', saltLength: 32, trailerField: 1 },
};
const ECDSA: Record<string, SignatureAlgorithm> = {
  sha256: { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256' },
  sha384: { oid: '1.2.840.10045.4.3.3', name: 'ecdsa-with-SHA384' },
  sha512: { oid: '1.2.840.10045.4.3.4', name: 'ecdsa-with-SHA512' },
};
const ED25519: SignatureAlgorithm = { oid: '1.3.101.112', name: 'Ed25519' };

/** As bootutil checks one signature TLV; undefined for schemes node:crypto cannot check. */
function mcubootVerify(
  buf: Buffer,
  img: McubootImage,
  s: McubootSignature,
  spki: Buffer,
  digestAlg: string,
): { valid: boolean; alg: SignatureAlgorithm } | undefined {
  const alg =
    s.scheme === 'rsa2048-pss' || s.scheme === 'rsa3072-pss'
      ? PSS_SHA256
      : s.scheme === 'ecdsa'
        ? ECDSA[digestAlg]
        : s.scheme === 'ed25519'
          ? ED25519
          : undefined;
  if (!alg) return undefined;
  const covered = buf.subarray(0, img.hashedEnd);
  let value = buf.subarray(s.tlv.start, s.tlv.end);
  // imgtool once zero-padded ECDSA values; the DER length says where the signature ends.
  if (s.scheme === 'ecdsa' && value[0] === 0x30 && value[1]! < 0x80 && value[1]! + 2 <= value.length)
    value = value.subarray(0, value[1]! + 2);
  // Ed25519 signs the image hash itself unless SIG_PURE says it signed the bytes.
  const data = s.scheme === 'ed25519' && !img.pure ? hash(digestAlg, covered, 'buffer') : covered;
  try {
    return { valid: verifySignature(spki, alg, data, value), alg };
  } catch {
    return undefined;
  }
}

export async function resolveMcuboot(
  store: Store,
  waiting: readonly AssetRow[],
  keys: () => Promise<readonly EstateKey[]>,
  at: number,
  tally: Tally,
): Promise<void> {
  for (const a of waiting) {
    const s = a.record as SignatureSummary;
    const occ = diskOccurrence(a, 'mcuboot');
    // Only a missing KEYHASH key can turn up later; other reasons (an unsupported scheme) stay.
    if (!occ || !s.reason?.includes('KEYHASH')) continue;
    const buf = await readBounded(occ.path, MAX_IMAGE_BYTES);
    if (!buf || sha256(buf) !== s.artifact.sha256) continue;
    let img: McubootImage;
    try {
      img = parseMcuboot(buf);
    } catch {
      continue;
    }
    const sig = img.signatures.find((x) => x.tlv.offset === occ.offset);
    if (!sig || sig.key?.name !== 'KEYHASH' || sha256(buf.subarray(sig.tlv.start, sig.tlv.end)) !== s.sha256)
      continue;
    tally.checked++;
    const digestAlg = img.hash?.algorithm ?? 'sha256';
    const keyHash = buf.toString('hex', sig.key.start, sig.key.end);
    const key = (await keys()).find((k) => keyHashOf(k, digestAlg) === keyHash);
    if (!key) continue;
    const out = mcubootVerify(buf, img, sig, key.spki, digestAlg);
    if (!out) continue;
    const { patch, edges } = settled(
      a,
      key,
      {
        status: out.valid ? 'valid' : 'invalid',
        signatureAlgorithm: out.alg.name,
        ...(!out.valid && {
          reason: `${sig.tlv.name} signature does not verify with the key of KEYHASH ${keyHash}`,
        }),
      },
      `MCUboot signer named by KEYHASH ${keyHash}, found in the estate at ${key.paths[0] ?? '?'}`,
    );
    await store.amendAsset(a.id, patch, edges, at);
    tally.resolved++;
    if (!out.valid) tally.invalid.push(a.id);
  }
}

/** Every FIT signature in `buf` with the blob it sits in. */
function* fitSignatures(buf: Buffer): Generator<{ fit: ReturnType<typeof parseFit>; sig: FitSignature }> {
  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(FDT_MAGIC);
  let pos = 0;
  for (let n = 0; n < MAX_DTB_BLOBS; n++) {
    const at = buf.indexOf(magic, pos);
    if (at < 0) return;
    pos = at + 4;
    if (!isFdt(buf, at)) continue;
    let fit;
    try {
      fit = parseFit(buf, at);
    } catch {
      continue;
    }
    for (const sig of [
      ...fit.images.flatMap((i) => i.signatures),
      ...fit.configurations.flatMap((c) => c.signatures),
    ])
      yield { fit, sig };
  }
}

export async function resolveFit(
  store: Store,
  waiting: readonly AssetRow[],
  keys: () => Promise<readonly EstateKey[]>,
  at: number,
  tally: Tally,
): Promise<void> {
  for (const a of waiting) {
    const s = a.record as SignatureSummary;
    const occ = diskOccurrence(a, 'fit');
    if (!occ || !s.reason?.startsWith('signing key')) continue;
    const buf = await readBounded(occ.path, MAX_IMAGE_BYTES);
    if (!buf) continue;
    let found: { fit: ReturnType<typeof parseFit>; sig: FitSignature } | undefined;
    for (const f of fitSignatures(buf))
      if (
        f.sig.offset === occ.offset &&
        f.sig.value &&
        sha256(buf.subarray(f.sig.value.start, f.sig.value.end)) === s.sha256
      ) {
        found = f;
        break;
      }
    if (!found) continue;
    const { fit, sig } = found;
    // The verdict must be about the bytes the scan recorded: the signed image, or the whole blob.
    const signed = fitSignedBytes(buf, sig);
    const blobEnd = fit.fdt.base === 0 ? buf.length : fit.fdt.base + fit.fdt.totalSize;
    if (
      (!signed || sha256(signed) !== s.artifact.sha256) &&
      sha256(buf.subarray(fit.fdt.base, blobEnd)) !== s.artifact.sha256
    )
      continue;
    tally.checked++;
    const all = await keys();
    const hint = sig.keyNameHint;
    const named = hint === undefined ? [] : all.filter((k) => k.names.includes(hint));
    let key: EstateKey | undefined;
    let check: { status: string; reason?: string } | undefined;
    // Without a key of that name, only keys of the scheme's type are worth a try.
    const family = sig.cryptoAlgorithm.startsWith('rsa')
      ? 'RSA'
      : sig.cryptoAlgorithm.startsWith('ecdsa')
        ? 'EC'
        : '';
    for (const k of named.length > 0 ? named : all.filter((x) => x.algorithm === family)) {
      const c = verifyFitSignature(buf, fit, sig, k.spki);
      if (c.status === 'valid') {
        key = k;
        check = c;
        break;
      }
      // A key of the name it asks for that does not verify it is a mismatch, as U-Boot would refuse it.
      if (named.length > 0 && !check) {
        key = k;
        check = c;
      }
    }
    if (!key || !check || check.status === 'unverified') continue;
    const valid = check.status === 'valid';
    const { patch, edges } = settled(
      a,
      key,
      {
        status: valid ? 'valid' : 'invalid',
        ...(!valid && {
          reason: check.reason ?? `does not verify with key "${hint}" of ${key.paths[0] ?? '?'}`,
        }),
      },
      `FIT signer ${hint === undefined ? '(no key-name-hint)' : `named "${hint}"`}, found in the estate at ${key.paths[0] ?? '?'}`,
    );
    await store.amendAsset(a.id, patch, edges, at);
    tally.resolved++;
    if (!valid) tally.invalid.push(a.id);
  }
}

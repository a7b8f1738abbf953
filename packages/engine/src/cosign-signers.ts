import { createHash, createPublicKey } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { verifySignature, type SignatureAlgorithm, type SignatureSummary } from '@keywarden/core';
import type { AssetRow, Store } from '@keywarden/store';
import { diskOccurrence, readBounded, settled, type EstateKey } from './estate-keys.ts';

/**
 * cosign blob signatures pair by name: F.sig with F, and with the certificate cosign wrote beside
 * them (F.pem, F.crt) or, for key-based signing, a public key file of the same directory
 * (cosign.pub). F is read again to check the signature over its bytes; its SHA-256 must still be the
 * one the scan recorded, or the verdict would be about other bytes.
 */

// As the scan's cosign reader: larger artifacts were never hashed, so never reach this pass.
const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;
const CERT_EXTENSIONS = ['.pem', '.crt', '.cert', '.cer'];

const ALGORITHMS: Record<string, SignatureAlgorithm> = {
  sha256: { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256' },
  sha384: { oid: '1.2.840.10045.4.3.3', name: 'ecdsa-with-SHA384' },
  sha512: { oid: '1.2.840.10045.4.3.4', name: 'ecdsa-with-SHA512' },
  rsa: { oid: '1.2.840.113549.1.1.11', name: 'sha256WithRSAEncryption' },
  ed25519: { oid: '1.3.101.112', name: 'Ed25519' },
};

/** The algorithms cosign signs blobs with for this key: SHA-256 by default, the curve's hash too. */
function candidatesFor(key: EstateKey): SignatureAlgorithm[] {
  let type: string | undefined;
  try {
    type = createPublicKey({ key: key.spki, format: 'der', type: 'spki' }).asymmetricKeyType;
  } catch {
    return [];
  }
  if (type === 'ed25519') return [ALGORITHMS.ed25519!];
  if (type === 'rsa') return [ALGORITHMS.rsa!];
  if (type !== 'ec') return [];
  const own = key.curve === 'P-384' ? 'sha384' : key.curve === 'secp521r1' ? 'sha512' : 'sha256';
  return own === 'sha256' ? [ALGORITHMS.sha256!] : [ALGORITHMS[own]!, ALGORITHMS.sha256!];
}

/** The algorithm that verifies, or undefined when none does. */
function verifiedBy(key: EstateKey, data: Buffer, value: Buffer): SignatureAlgorithm | undefined {
  for (const alg of candidatesFor(key))
    try {
      if (verifySignature(key.spki, alg, data, value)) return alg;
    } catch {
      // an algorithm node:crypto cannot check is no match
    }
  return undefined;
}

export async function resolveCosign(
  store: Store,
  waiting: readonly AssetRow[],
  keys: () => Promise<readonly EstateKey[]>,
  at: number,
): Promise<{ checked: number; resolved: number; invalid: string[] }> {
  let checked = 0;
  let resolved = 0;
  const invalid: string[] = [];
  for (const a of waiting) {
    const s = a.record as SignatureSummary;
    const occ = diskOccurrence(a, 'cosign');
    if (!occ || !s.pending) continue;
    checked++;
    const artifactPath = occ.path.replace(/\.sig$/i, '');
    const dir = dirname(occ.path);
    const name = basename(artifactPath);
    const certNames = new Set(CERT_EXTENSIONS.map((e) => join(dir, name + e)));
    const all = await keys();
    const certs = all.filter((k) => k.certificate && k.paths.some((p) => certNames.has(p)));
    const beside = all.filter((k) => !k.certificate && k.paths.some((p) => dirname(p) === dir));
    const candidates = certs.length > 0 ? certs : beside;
    if (candidates.length === 0) {
      await note(a, `no certificate ${name}.pem or ${name}.crt and no public key file beside ${name}`);
      continue;
    }
    const data = await readBounded(artifactPath, MAX_ARTIFACT_BYTES);
    if (!data || createHash('sha256').update(data).digest('hex') !== s.artifact.sha256) {
      await note(a, `${name} changed or went away after the scan: its bytes are not the ones recorded`);
      continue;
    }
    const value = Buffer.from(s.pending.value, 'hex');
    let signer: EstateKey | undefined;
    let alg: SignatureAlgorithm | undefined;
    for (const k of candidates) {
      alg = verifiedBy(k, data, value);
      if (alg) {
        signer = k;
        break;
      }
    }
    const by = certs.length > 0 ? 'the certificate beside it' : 'a public key file of its directory';
    const key = signer ?? candidates[0]!;
    const outcome = signer
      ? { status: 'valid' as const, signatureAlgorithm: alg!.name }
      : {
          status: 'invalid' as const,
          reason: `${name} does not verify with ${candidates.length === 1 ? by : `any of ${candidates.length} keys (${by})`}: ${key.paths[0]}`,
        };
    const { patch, edges } = settled(a, key, outcome, `cosign signature paired with ${by}`);
    // A mismatch against keys that merely share the directory names no signer; the certificate
    // cosign wrote beside the signature is its declared signer either way.
    if (!signer && certs.length === 0) {
      await store.amendAsset(
        a.id,
        { record: { ...(patch.record as SignatureSummary), signer: s.signer } },
        [],
        at,
      );
      invalid.push(a.id);
    } else {
      await store.amendAsset(a.id, patch, edges, at);
      if (!signer) invalid.push(a.id);
    }
    resolved++;
  }
  return { checked, resolved, invalid };

  async function note(a: AssetRow, reason: string): Promise<void> {
    // The pending material stays, so a later scan that brings the key can still check it.
    await store.amendAsset(a.id, { record: { ...(a.record as SignatureSummary), reason } }, [], at);
  }
}

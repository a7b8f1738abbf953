import { constants, createPublicKey, publicDecrypt, X509Certificate } from 'node:crypto';
import {
  HASH_ALGORITHMS,
  parseAlgorithmIdentifier,
  readOne,
  seq,
  verifySignature,
  type SignatureSummary,
  type Signer,
} from '@keywarden/core';
import { assetId, keyRef, type AssetRow, type EdgeInput, type Store } from '@keywarden/store';
import { resolveCosign } from './cosign-signers.ts';
import { loadEstateKeys, type EstateKey } from './estate-keys.ts';
import { resolveFit, resolveMcuboot, type Tally } from './key-hash-signers.ts';

/**
 * Signatures whose container leaves out the signer's certificate (the kernel's sign-file does) are
 * stored 'unverified' with the public material to check them. Once a certificate with the issuer
 * and serial (or SKI) the signer names is in the store, this pass checks the signature with that
 * certificate's key and records the outcome and the signed-by edges. It reads only public data.
 *
 * Signatures that name their key another way are checked here too, against the estate's public
 * keys (estate-keys.ts): cosign blob signatures by the files beside them, MCUboot images by
 * KEYHASH, FIT images by key-name-hint (the key sits in U-Boot's control DTB).
 */
export async function resolveSigners(
  store: Store,
  at = Date.now(),
): Promise<{ checked: number; resolved: number; invalid: string[] }> {
  let checked = 0;
  let resolved = 0;
  const invalid: string[] = [];
  const waiting: AssetRow[] = [];
  const byFormat: Record<'cosign' | 'mcuboot' | 'fit', AssetRow[]> = { cosign: [], mcuboot: [], fit: [] };
  // Only signatures whose signer key is unknown can be pending: the rest need no second look.
  for await (const a of store.assets({ kind: 'signature', withoutKey: true })) {
    const s = a.record as SignatureSummary;
    if (s.format === 'cosign') {
      if (s.pending) byFormat.cosign.push(a);
    } else if ((s.format === 'mcuboot' || s.format === 'fit') && s.status === 'unverified')
      byFormat[s.format].push(a);
    else if (s.pending) waiting.push(a);
  }
  for (const a of waiting) {
    const s = a.record as SignatureSummary;
    const q = s.signer.ski
      ? { ski: s.signer.ski }
      : s.signer.issuer && s.signer.serial
        ? { issuer: s.signer.issuer, serial: s.signer.serial }
        : undefined;
    if (!q) continue;
    checked++;
    for (const c of await store.certificatesNamed(q)) {
      const der = (c.record as { der?: string }).der;
      if (!der) continue;
      const outcome = check(s, Buffer.from(der, 'base64'));
      if (outcome === undefined) continue;
      const signer: Signer = {
        ...s.signer,
        keyId: c.keyId,
        certificate: c.identity,
        subject: c.subject,
        keyAlgorithm: c.algorithm,
        ...(c.size !== undefined && { keySize: c.size }),
        ...(c.curve && { curve: c.curve }),
      };
      // Checked now: the pending material and the earlier 'unverified' reason no longer apply.
      const rest: { -readonly [K in keyof SignatureSummary]?: SignatureSummary[K] } = { ...s };
      delete rest.pending;
      delete rest.reason;
      const record: SignatureSummary = {
        ...(rest as SignatureSummary),
        signer,
        status: outcome.valid ? 'valid' : 'invalid',
        ...(!outcome.valid && { reason: `does not verify with the key of certificate ${c.identity}` }),
      };
      const why = `${s.format} signer named by ${'ski' in q ? `SKI ${q.ski}` : `issuer "${q.issuer}" and serial ${q.serial}`}, found in the estate and checked (${record.status})`;
      const edges: EdgeInput[] = [
        { kind: 'signed-by', from: a.id, to: assetId('certificate', c.identity), reason: why },
        ...(c.keyId ? [{ kind: 'signed-by' as const, from: a.id, to: keyRef(c.keyId), reason: why }] : []),
      ];
      await store.amendAsset(
        a.id,
        {
          record,
          ...(c.keyId && { keyId: c.keyId }),
          ...(c.subject && { subject: c.subject }),
          ...(c.algorithm && { algorithm: c.algorithm }),
          ...(c.size !== undefined && { size: c.size }),
          ...(c.curve && { curve: c.curve }),
        },
        edges,
        at,
      );
      resolved++;
      if (!outcome.valid) invalid.push(a.id);
      break;
    }
  }
  // The estate's keys are read once, and only when a signature needs them.
  let estate: Promise<EstateKey[]> | undefined;
  const keys = (): Promise<EstateKey[]> => (estate ??= loadEstateKeys(store));
  const tally: Tally = { checked, resolved, invalid };
  const c = await resolveCosign(store, byFormat.cosign, keys, at);
  tally.checked += c.checked;
  tally.resolved += c.resolved;
  tally.invalid.push(...c.invalid);
  await resolveMcuboot(store, byFormat.mcuboot, keys, at, tally);
  await resolveFit(store, byFormat.fit, keys, at, tally);
  return tally;
}

/** true/false when the check could be made with this certificate's key; undefined when it cannot. */
function check(s: SignatureSummary, certDer: Buffer): { valid: boolean } | undefined {
  const p = s.pending!;
  let spki: Buffer;
  try {
    spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
  const value = Buffer.from(p.value, 'hex');
  try {
    if (p.signedAttributes !== undefined)
      return {
        valid: verifySignature(spki, p.signatureAlgorithm, Buffer.from(p.signedAttributes, 'hex'), value, {
          ...(s.digestAlgorithm && { digest: s.digestAlgorithm }),
        }),
      };
    if (p.contentDigest !== undefined) return rsaOverDigest(spki, s.digestAlgorithm, p.contentDigest, value);
  } catch {
    return undefined; // an algorithm node:crypto cannot check: stays unverified
  }
  return undefined;
}

/**
 * Without signed attributes the signature covers the content, which the scan no longer holds; for
 * RSA PKCS#1 v1.5 the signature still opens to the DigestInfo it signed, which is compared with the
 * digest taken at scan time. Other algorithms cannot be checked from a digest with node:crypto.
 */
function rsaOverDigest(
  spki: Buffer,
  digestAlgorithm: string | undefined,
  digest: string,
  value: Buffer,
): { valid: boolean } | undefined {
  let opened: Buffer;
  try {
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'rsa') return undefined;
    opened = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, value);
  } catch {
    return { valid: false }; // an RSA key that cannot open the value did not make it
  }
  try {
    const [algT, digestT] = seq(opened, readOne(opened), 'DigestInfo');
    const { oid } = parseAlgorithmIdentifier(opened, algT);
    if (!digestT || digestT.tag !== 0x04) return { valid: false };
    const name = HASH_ALGORITHMS[oid] ?? oid;
    const hex = opened.toString('hex', digestT.start, digestT.end);
    return { valid: (digestAlgorithm === undefined || name === digestAlgorithm) && hex === digest };
  } catch {
    return { valid: false };
  }
}

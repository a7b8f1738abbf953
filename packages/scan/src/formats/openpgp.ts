import { hash } from 'node:crypto';
import {
  findPgpArmor,
  hasPgpArmor,
  looksLikePgp,
  parsePgp,
  pgpSignatureAlgorithm,
  PGP_PUBLIC_KEY_ALGORITHMS,
  type Encoding,
  type PgpParsed,
  type PgpPublicKey,
  type PgpSignatureRead,
  type PgpTransferableKey,
  type Signer,
} from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * OpenPGP keyrings, exported keys, detached signatures (Release.gpg) and cleartext-signed messages
 * (InRelease), binary or armored. Each key becomes a public-key (or private-key) observation whose
 * keyId is the SPKI identity; the OpenPGP fingerprint, user IDs and expiry ride in its comment.
 */

const sha256 = (b: Uint8Array): string => hash('sha256', b, 'hex');

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function comment(k: PgpTransferableKey, key: PgpPublicKey, expires: number | undefined): string {
  const parts = [
    key.subkey
      ? `openpgp subkey fingerprint ${key.fingerprint} of ${k.primary.fingerprint}`
      : `openpgp fingerprint ${key.fingerprint}`,
  ];
  if (!key.subkey) for (const u of k.userIds) parts.push(`uid ${u.text}`);
  parts.push(`created ${new Date(key.created).toISOString()}`);
  if (expires !== undefined) parts.push(`expires ${new Date(expires).toISOString()}`);
  if (k.revoked) parts.push('revoked');
  return parts.join('; ');
}

function keyObservations(k: PgpTransferableKey, at: (o: number) => number, encoding: Encoding): Detected[] {
  const entries = [
    { key: k.primary, secret: k.secret, encrypted: k.encrypted, expires: k.expires },
    ...k.subkeys.map((s) => ({ key: s.key, secret: s.secret, encrypted: s.encrypted, expires: s.expires })),
  ];
  return entries.map((e): Detected => {
    const base = {
      offset: at(e.key.offset),
      encoding,
      format: 'openpgp',
      key: e.key.key,
      comment: comment(k, e.key, e.expires),
    };
    return e.secret
      ? { type: 'private-key', ...base, encrypted: e.encrypted ?? false }
      : { type: 'public-key', ...base };
  });
}

function signerOf(r: PgpSignatureRead, keys: readonly PgpPublicKey[]): Signer {
  const s = r.sig;
  const key = keys.find((k) =>
    s.issuerFingerprint ? k.fingerprint === s.issuerFingerprint : k.keyId === s.issuerKeyId,
  );
  const named = s.issuerFingerprint ?? s.issuerKeyId;
  const algorithm = PGP_PUBLIC_KEY_ALGORITHMS.get(s.publicKeyAlgorithm);
  if (!key) return { ...(named && { ski: named }), ...(algorithm && { keyAlgorithm: algorithm }) };
  return {
    ...(named && { ski: named }),
    ...(key.key.keyId && { keyId: key.key.keyId }),
    keyAlgorithm: key.key.algorithm,
    ...(key.key.size !== undefined && { keySize: key.key.size }),
    ...(key.key.curve !== undefined && { curve: key.key.curve }),
  };
}

const ARTIFACT_FORMATS: ReadonlyMap<number, string> = new Map([
  [0x00, 'openpgp-binary'],
  [0x01, 'openpgp-text'],
  [0x10, 'openpgp-certification'],
  [0x11, 'openpgp-certification'],
  [0x12, 'openpgp-certification'],
  [0x13, 'openpgp-certification'],
  [0x18, 'openpgp-subkey-binding'],
  [0x1f, 'openpgp-direct-key'],
  [0x20, 'openpgp-key-revocation'],
  [0x28, 'openpgp-subkey-revocation'],
]);

function signatureObservations(
  buf: Uint8Array,
  parsed: PgpParsed,
  at: (o: number) => number,
  encoding: Encoding,
  container: { sha256: string; size: number },
): Detected[] {
  const keys = parsed.keys.flatMap((k) => [k.primary, ...k.subkeys.map((s) => s.key)]);
  return parsed.signatures.map((r): Detected => {
    const s = r.sig;
    const signer = signerOf(r, keys);
    const signerKey = keys.find((k) => k.key.keyId !== undefined && k.key.keyId === signer.keyId);
    const format = ARTIFACT_FORMATS.get(s.type) ?? `openpgp-type-${s.type}`;
    // A detached signature's artifact is elsewhere: like cms-detached, name the container itself.
    const artifact =
      r.covers !== undefined
        ? { sha256: r.covers.sha256, format, size: r.covers.size }
        : { sha256: container.sha256, format: 'openpgp-detached', size: container.size };
    return {
      type: 'signature',
      offset: at(s.offset),
      encoding,
      signature: {
        sha256: sha256(buf.subarray(s.value.start, s.value.end)),
        format: 'openpgp',
        signer,
        signatureAlgorithm: pgpSignatureAlgorithm(s, signerKey?.key),
        digestAlgorithm: s.hash,
        ...(r.check.digest && { digest: r.check.digest }),
        status: r.check.status,
        ...(r.check.reason && { reason: r.check.reason }),
        ...(s.created !== undefined && { signedAt: s.created }),
        artifact,
        certificates: [],
        countersignatures: [],
      },
    };
  });
}

function observations(
  data: Uint8Array,
  at: (o: number) => number,
  encoding: Encoding,
  container: { sha256: string; size: number },
  text?: Uint8Array,
): Detected[] {
  const parsed = parsePgp(data, 0, data.length, text);
  return [
    ...parsed.keys.flatMap((k) => keyObservations(k, at, encoding)),
    ...signatureObservations(data, parsed, at, encoding, container),
    ...parsed.problems.map((p): Detected => ({
      type: 'unparseable',
      offset: at(p.offset),
      encoding,
      format: 'openpgp',
      reason: p.reason,
    })),
  ];
}

function armored(buf: Buffer): Detected[] {
  const out: Detected[] = [];
  for (const block of findPgpArmor(buf)) {
    const format = `openpgp:${block.label}`;
    if (block.error || !block.data) {
      out.push({
        type: 'unparseable',
        offset: block.offset,
        encoding: 'pem',
        format,
        reason: block.error ?? 'empty armor block',
      });
      continue;
    }
    // Offsets inside the decoded body mean nothing in the file: everything is at the block.
    const container = {
      sha256: sha256(buf.subarray(block.offset, block.end)),
      size: block.end - block.offset,
    };
    try {
      out.push(...observations(block.data, () => block.offset, 'pem', container, block.text));
    } catch (err) {
      out.push({ type: 'unparseable', offset: block.offset, encoding: 'pem', format, reason: reason(err) });
    }
  }
  return out;
}

/** Everything OpenPGP in one file's bytes. Returns [] at once for other files; never throws. */
export function detectOpenpgp(buf: Buffer): Detected[] {
  try {
    if (looksLikePgp(buf)) {
      try {
        return observations(buf, (o) => o, 'binary', { sha256: sha256(buf), size: buf.length });
      } catch (err) {
        return [
          { type: 'unparseable', offset: 0, encoding: 'binary', format: 'openpgp', reason: reason(err) },
        ];
      }
    }
    return hasPgpArmor(buf) ? armored(buf) : [];
  } catch (err) {
    return [{ type: 'unparseable', offset: 0, encoding: 'binary', format: 'openpgp', reason: reason(err) }];
  }
}

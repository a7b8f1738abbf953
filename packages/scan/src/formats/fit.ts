import { hash } from 'node:crypto';
import {
  FDT_MAGIC,
  fitSignedBytes,
  isFdt,
  parseFit,
  verifyFitSignature,
  type Fit,
  type FitCheck,
  type FitKey,
  type FitSignature,
  type SignatureSummary,
  type Signer,
} from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * U-Boot FIT images and control DTBs. A control DTB yields the verified-boot public keys under
 * /signature; a FIT yields one signature observation per signed image or configuration, checked
 * against a key of the same name when one is at hand (in this buffer, or passed by the caller from
 * the control DTB) and otherwise left 'unverified' with the key name it asks for.
 */

// A device tree can sit inside a larger blob (u-boot-dtb.bin appends the control DTB to U-Boot,
// an SPL FIT embeds it as an image); the cap keeps a binary full of stray magic numbers from costing a parse each.
const MAX_BLOBS = 64;
const MAGIC = Buffer.from(FDT_MAGIC.toString(16), 'hex');

const sha256 = (b: Uint8Array): string => hash('sha256', b, 'hex');

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const HASH_NAMES: Record<string, string> = {
  sha1: 'SHA1',
  sha256: 'SHA256',
  sha384: 'SHA384',
  sha512: 'SHA512',
};

function signatureAlgorithm(sig: FitSignature): string {
  if (sig.cryptoAlgorithm.startsWith('ecdsa'))
    return `ecdsa-with-${HASH_NAMES[sig.hashAlgorithm] ?? sig.hashAlgorithm}`;
  if (sig.cryptoAlgorithm.startsWith('rsa'))
    return sig.padding === 'pss' ? 'rsassaPss' : `${sig.hashAlgorithm}WithRSAEncryption`;
  return sig.algo;
}

function claimedSigner(sig: FitSignature): Signer {
  const bits = Number(/\d+$/.exec(sig.cryptoAlgorithm)?.[0]);
  const ec = sig.cryptoAlgorithm.startsWith('ecdsa');
  return {
    // FIT names its signer only by the key's name; the inventory shows it until the key is found.
    ...(sig.keyNameHint !== undefined && { subject: `key-name-hint=${sig.keyNameHint}` }),
    ...((ec || sig.cryptoAlgorithm.startsWith('rsa')) && { keyAlgorithm: ec ? 'EC' : 'RSA' }),
    ...(Number.isSafeInteger(bits) && { keySize: bits }),
    ...(ec && bits === 256 && { curve: 'P-256' }),
    ...(ec && bits === 384 && { curve: 'P-384' }),
  };
}

/** The key that signed `sig` among `keys`, and the verdict; unverified when none is at hand. */
function checkWith(
  buf: Buffer,
  fit: Fit,
  sig: FitSignature,
  keys: readonly FitKey[],
): { key?: FitKey; check: FitCheck } {
  const named = keys.find((k) => k.name === sig.keyNameHint);
  if (named) return { key: named, check: verifyFitSignature(buf, fit, sig, named.spki) };
  if (sig.problem) return { check: { status: 'unverified', reason: sig.problem } };
  // U-Boot checks a configuration against each required key whatever its name, so a key under
  // another name that verifies is the signer too.
  for (const key of keys) {
    const check = verifyFitSignature(buf, fit, sig, key.spki);
    if (check.status === 'valid') return { key, check };
  }
  const hint = sig.keyNameHint === undefined ? '(no key-name-hint)' : `"${sig.keyNameHint}"`;
  return {
    check: {
      status: 'unverified',
      reason: `signing key ${hint} is not in this file; U-Boot keeps it in its control DTB`,
    },
  };
}

function signatureObservation(
  buf: Buffer,
  fit: Fit,
  sig: FitSignature,
  keys: readonly FitKey[],
): Detected | undefined {
  if (!sig.value) return undefined; // an unsigned template node: nothing was signed
  const value = buf.subarray(sig.value.start, sig.value.end);
  const signed = fitSignedBytes(buf, sig);
  const { key, check } = checkWith(buf, fit, sig, keys);
  const digest = signed && HASH_NAMES[sig.hashAlgorithm] ? hash(sig.hashAlgorithm, signed, 'hex') : undefined;
  const blobEnd = fit.fdt.base === 0 ? buf.length : fit.fdt.base + fit.fdt.totalSize;
  const image = sig.kind === 'image' ? fit.images.find((i) => sig.path.startsWith(`${i.path}/`)) : undefined;
  const artifact: SignatureSummary['artifact'] =
    image?.data && signed
      ? {
          sha256: sha256(signed),
          format: `fit-image${image.type ? `:${image.type}` : ''}`,
          size: signed.length,
        }
      : { sha256: sha256(buf.subarray(fit.fdt.base, blobEnd)), format: 'fit', size: blobEnd - fit.fdt.base };
  const k = key?.key;
  const signer: Signer = {
    ...claimedSigner(sig),
    ...(k && {
      keyId: k.keyId,
      keyAlgorithm: k.algorithm,
      ...(k.size !== undefined && { keySize: k.size }),
      ...(k.curve && { curve: k.curve }),
    }),
  };
  // PKCS#1 v1.5 over a digest can be checked later from the digest alone, once the key turns up.
  const pending =
    check.status === 'unverified' &&
    !key &&
    digest &&
    sig.cryptoAlgorithm.startsWith('rsa') &&
    sig.padding !== 'pss'
      ? {
          signatureAlgorithm: { oid: RSA_OIDS[sig.hashAlgorithm] ?? '', name: signatureAlgorithm(sig) },
          value: value.toString('hex'),
          contentDigest: digest,
        }
      : undefined;
  return {
    type: 'signature',
    offset: sig.offset,
    encoding: 'binary',
    signature: {
      sha256: sha256(value),
      format: 'fit',
      signer,
      signatureAlgorithm: signatureAlgorithm(sig),
      ...(sig.hashAlgorithm && { digestAlgorithm: sig.hashAlgorithm }),
      ...(digest && { digest }),
      status: check.status,
      ...(check.reason && { reason: check.reason }),
      ...(sig.timestamp !== undefined && { signedAt: sig.timestamp }),
      artifact,
      certificates: [],
      countersignatures: [],
      ...(pending?.signatureAlgorithm.oid && { pending }),
    },
  };
}

const RSA_OIDS: Record<string, string> = {
  sha1: '1.2.840.113549.1.1.5',
  sha256: '1.2.840.113549.1.1.11',
  sha384: '1.2.840.113549.1.1.12',
  sha512: '1.2.840.113549.1.1.13',
};

function observations(buf: Buffer, fit: Fit, keys: readonly FitKey[]): Detected[] {
  const out: Detected[] = [];
  for (const k of fit.keys)
    out.push({
      type: 'public-key',
      offset: k.offset,
      encoding: 'binary',
      format: 'u-boot-dtb',
      key: k.key,
      comment: k.name,
    });
  for (const b of fit.badKeys)
    out.push({
      type: 'unparseable',
      offset: b.offset,
      encoding: 'binary',
      format: 'u-boot-dtb-key',
      reason: b.reason,
    });
  const sigs = [
    ...fit.images.flatMap((i) => i.signatures),
    ...fit.configurations.flatMap((c) => c.signatures),
  ];
  for (const sig of sigs) {
    try {
      const o = signatureObservation(buf, fit, sig, keys);
      if (o) out.push(o);
    } catch (err) {
      out.push({
        type: 'unparseable',
        offset: sig.offset,
        encoding: 'binary',
        format: 'fit-signature',
        reason: reason(err),
      });
    }
  }
  return out;
}

/**
 * FIT images and control DTBs in `buf`, at offset 0 or appended to other bytes. `keys` are
 * verified-boot keys found elsewhere (the control DTB); keys in `buf` itself are used as well.
 * Never throws: a blob at offset 0 that lies becomes an unparseable observation.
 */
export function detectFit(buf: Buffer, keys: readonly FitKey[] = []): Detected[] {
  if (buf.indexOf(MAGIC) < 0) return [];
  const fits: Fit[] = [];
  const out: Detected[] = [];
  let pos = 0;
  for (let n = 0; n < MAX_BLOBS; n++) {
    const at = buf.indexOf(MAGIC, pos);
    if (at < 0) break;
    // The blob's inside is searched too: a FIT often carries U-Boot's own DTB, keys and all, as an image.
    pos = at + 4;
    if (!isFdt(buf, at)) continue;
    try {
      fits.push(parseFit(buf, at));
    } catch (err) {
      // Elsewhere the magic is as likely chance as a broken blob; at the start the file claims to be one.
      if (at === 0)
        out.push({ type: 'unparseable', offset: 0, encoding: 'binary', format: 'fdt', reason: reason(err) });
    }
  }
  const known = [...keys, ...fits.flatMap((f) => f.keys)];
  for (const fit of fits) {
    try {
      out.push(...observations(buf, fit, known));
    } catch (err) {
      out.push({
        type: 'unparseable',
        offset: fit.fdt.base,
        encoding: 'binary',
        format: 'fit',
        reason: reason(err),
      });
    }
  }
  return out;
}

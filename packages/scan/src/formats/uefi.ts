import { hash } from 'node:crypto';
import {
  authenticatedVariableContent,
  authenticatedVariableSignedData,
  EFI_AUTH_VARIABLE_ATTRIBUTES,
  EFI_GUID,
  EFI_VARIABLE_APPEND_WRITE,
  findVariableStores,
  isAuthenticatedVariable,
  looksLikeSignatureList,
  parseAuthenticatedVariable,
  parseCertificate,
  parseSignatureLists,
  parseVariableStore,
  readGuid,
  secureBootVendor,
  verifySigner,
  type AuthenticatedVariable,
  type CmsSigner,
  type SignatureList,
  type SignatureSummary,
  type SignedData,
  type SignerVerification,
} from '@keywarden/core';
import type { Detected } from '../detect.ts';
import { certificateFingerprints, certificateObservations, signatureName, signerOf } from '../signed.ts';

/**
 * UEFI Secure Boot key material: EFI signature lists (PK, KEK, db, dbx contents; .esl files) and
 * time-based authenticated variable updates (.auth files). Every X.509 entry becomes a certificate
 * observation at its offset; hash entries (dbx revocations) are kept by the core parse only.
 * The update's PKCS#7 covers the variable's name and vendor GUID, which the file does not carry:
 * the name is guessed from the file name and the other Secure Boot variables are tried after it.
 * Firmware images are searched for EDK II variable stores, whose live PK/KEK/db/dbx/dbt/dbr
 * variables hold signature lists.
 */

const NAMES = ['PK', 'KEK', 'db', 'dbx', 'dbt', 'dbr'] as const;
const ATTRIBUTES = [EFI_AUTH_VARIABLE_ATTRIBUTES, EFI_AUTH_VARIABLE_ATTRIBUTES | EFI_VARIABLE_APPEND_WRITE];

const sha256 = (b: Uint8Array): string => hash('sha256', b, 'hex');
const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The variable a file name suggests: PK.auth, KEK.esl, db.signed, DBX.auth -> PK, KEK, db, dbx. */
export function variableNameFromFile(fileName: string | undefined): string | undefined {
  const base = fileName
    ?.split(/[\\/]/)
    .pop()
    ?.replace(/\.[^.]*$/, '')
    .toLowerCase();
  return NAMES.find((n) => n.toLowerCase() === base);
}

function listCertificates(buf: Buffer, lists: readonly SignatureList[]): Detected[] {
  const out: Detected[] = [];
  for (const l of lists) {
    if (l.type !== EFI_GUID.certX509) continue;
    for (const e of l.entries) {
      try {
        out.push({
          type: 'certificate',
          offset: e.data.start,
          encoding: 'der',
          cert: parseCertificate(buf, e.data.start, e.data.end),
          der: buf.subarray(e.data.start, e.data.end),
        });
      } catch (err) {
        out.push({
          type: 'unparseable',
          offset: e.data.start,
          encoding: 'der',
          format: 'efi-signature-list:x509',
          reason: reasonOf(err),
        });
      }
    }
  }
  return out;
}

/** Valid as soon as one (name, attributes) pair verifies; otherwise the verdict for the likeliest pair. */
function verifyVariable(
  buf: Buffer,
  av: AuthenticatedVariable,
  view: Uint8Array,
  sd: SignedData,
  s: CmsSigner,
  guess: string | undefined,
): SignerVerification {
  const names = guess ? [guess, ...NAMES.filter((n) => n !== guess)] : [...NAMES];
  let first: SignerVerification | undefined;
  for (const name of names)
    for (const attributes of ATTRIBUTES) {
      const content = authenticatedVariableContent(buf, av, name, secureBootVendor(name)!, attributes);
      const v = verifySigner(view, sd, s, { content });
      if (v.status === 'valid') return v;
      // A missing certificate or odd algorithm fails the same way whatever the name: no use trying on.
      if (v.status === 'unverified') return v;
      first ??= v;
    }
  return {
    ...first!,
    reason: `signature verifies for none of ${names.join(', ')} (with or without APPEND_WRITE): ${first!.reason ?? ''}`,
  };
}

function authenticated(buf: Buffer, fileName: string | undefined): Detected[] {
  const av = parseAuthenticatedVariable(buf);
  const out = listCertificates(buf, av.lists);
  const { buf: view, sd } = authenticatedVariableSignedData(buf, av);
  // The copy `view` has the same bytes at the same offsets as the file.
  out.push(...certificateObservations(view, sd));
  const certificates = certificateFingerprints(view, sd);
  const payload = buf.subarray(av.data.start, av.data.end);
  const artifact: SignatureSummary['artifact'] = {
    sha256: sha256(payload),
    format: 'efi-signature-list',
    size: payload.length,
  };
  const guess = variableNameFromFile(fileName);
  for (const s of sd.signers) {
    let v: SignerVerification;
    try {
      v = verifyVariable(buf, av, view, sd, s, guess);
    } catch (err) {
      v = { status: 'unverified', reason: reasonOf(err) };
    }
    const digest = s.signedAttrs?.messageDigest ?? v.digest;
    out.push({
      type: 'signature',
      offset: av.pkcs7.start,
      encoding: 'der',
      signature: {
        sha256: sha256(buf.subarray(s.signature.start, s.signature.end)),
        format: 'uefi-authenticated-variable',
        signer: signerOf(view, sd, s),
        signatureAlgorithm: signatureName(s),
        digestAlgorithm: s.digestAlgorithm,
        ...(digest && { digest }),
        status: v.status,
        ...(v.reason && { reason: v.reason }),
        ...(av.timeStamp.epochMs !== undefined && { signedAt: av.timeStamp.epochMs }),
        artifact,
        certificates,
        countersignatures: [],
      },
    });
  }
  return out;
}

/**
 * UEFI signature lists and authenticated variables in `buf`; `fileName` (PK.auth, db.auth, ...)
 * names the variable whose signature to check first. [] when the magic does not match; never
 * throws: a structure that lies becomes one unparseable observation with the reason.
 */
export function detectUefi(buf: Buffer, fileName?: string): Detected[] {
  if (isAuthenticatedVariable(buf) && readGuid(buf, 24) === EFI_GUID.certTypePkcs7) {
    try {
      return authenticated(buf, fileName);
    } catch (err) {
      return [
        {
          type: 'unparseable',
          offset: 0,
          encoding: 'binary',
          format: 'uefi-authenticated-variable',
          reason: reasonOf(err),
        },
      ];
    }
  }
  if (looksLikeSignatureList(buf)) {
    try {
      return listCertificates(buf, parseSignatureLists(buf));
    } catch (err) {
      return [
        {
          type: 'unparseable',
          offset: 0,
          encoding: 'binary',
          format: 'efi-signature-list',
          reason: reasonOf(err),
        },
      ];
    }
  }
  return varstores(buf);
}

/** Secure Boot variables in effect in EDK II variable stores (firmware images, OVMF_VARS.fd). */
function varstores(buf: Buffer): Detected[] {
  const out: Detected[] = [];
  for (const at of findVariableStores(buf)) {
    let store;
    try {
      store = parseVariableStore(buf, at);
    } catch (err) {
      out.push({
        type: 'unparseable',
        offset: at,
        encoding: 'binary',
        format: 'uefi-variable-store',
        reason: reasonOf(err),
      });
      continue;
    }
    for (const v of store.variables) {
      // A deleted copy of db still holds its certificates, but the firmware no longer trusts them.
      if (!v.live || secureBootVendor(v.name) !== v.vendorGuid) continue;
      try {
        out.push(...listCertificates(buf, parseSignatureLists(buf, v.data.start, v.data.end)));
      } catch (err) {
        out.push({
          type: 'unparseable',
          offset: v.data.start,
          encoding: 'binary',
          format: `uefi-variable:${v.name}`,
          reason: reasonOf(err),
        });
      }
    }
  }
  return out;
}

import { hash } from 'node:crypto';
import {
  authenticodeDigest,
  findModuleSignature,
  hashSupported,
  isPe,
  parseCertificate,
  parsePe,
  parseSignedData,
  parseSpcIndirectData,
  signerCertificate,
  verifyCountersignature,
  verifySigner,
  WIN_CERT_TYPE_PKCS_SIGNED_DATA,
  type Certificate,
  type CmsSigner,
  type Countersignature,
  type SignatureSummary,
  type SignedData,
  type Signer,
  type Verification,
} from '@keywarden/core';
import type { Detected } from './detect.ts';

/**
 * Signed containers: the signature blobs a format embeds, who made each signature, what it covers,
 * and whether it verifies. Every certificate a container carries is also reported as a certificate
 * observation at its own offset, so the inventory links it to its other occurrences by identity.
 */

type Artifact = SignatureSummary['artifact'];

const sha256 = (b: Uint8Array): string => hash('sha256', b, 'hex');

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Each certificate of a SignedData parsed once, however many signers, summaries and observations
 * ask for it: the parsed Certificate, or the reason it does not parse.
 */
const parsedSets = new WeakMap<SignedData, (Certificate | string)[]>();

function certificateSet(buf: Uint8Array, sd: SignedData): (Certificate | string)[] {
  let set = parsedSets.get(sd);
  if (!set) {
    set = sd.certificates.map((r) => {
      try {
        return parseCertificate(buf, r.start, r.end);
      } catch (err) {
        return reason(err);
      }
    });
    parsedSets.set(sd, set);
  }
  return set;
}

function certAt(buf: Uint8Array, sd: SignedData, r: { start: number }): Certificate | undefined {
  const c = certificateSet(buf, sd)[sd.certificates.findIndex((x) => x.start === r.start)];
  return typeof c === 'object' ? c : undefined;
}

export function signerOf(buf: Uint8Array, sd: SignedData, s: CmsSigner): Signer {
  const r = signerCertificate(buf, sd, s);
  const cert = r && certAt(buf, sd, r);
  const named = 'ski' in s.sid ? { ski: s.sid.ski } : { issuer: s.sid.issuer.text, serial: s.sid.serial };
  if (!cert) return named;
  const k = cert.publicKey;
  return {
    ...named,
    keyId: k.keyId,
    certificate: cert.sha256,
    subject: cert.subject.text,
    keyAlgorithm: k.algorithm,
    ...(k.size !== undefined && { keySize: k.size }),
    ...(k.curve && { curve: k.curve }),
  };
}

/** SHA-256 fingerprints of the certificates of a SignedData that parse. */
export function certificateFingerprints(buf: Uint8Array, sd: SignedData): string[] {
  return certificateSet(buf, sd).flatMap((c) => (typeof c === 'object' ? [c.sha256] : []));
}

/** The certificates a SignedData carries, as certificate observations (or unparseable ones). */
export function certificateObservations(buf: Uint8Array, sd: SignedData): Detected[] {
  const set = certificateSet(buf, sd);
  return sd.certificates.map((r, i): Detected => {
    const c = set[i]!;
    return typeof c === 'object'
      ? { type: 'certificate', offset: r.start, encoding: 'der', cert: c, der: buf.subarray(r.start, r.end) }
      : { type: 'unparseable', offset: r.start, encoding: 'der', format: 'cms-certificate', reason: c };
  });
}

interface Check {
  readonly status: Verification;
  readonly reason?: string;
}

/** A failed content check (image digest, say) outranks the signer's own verdict. */
function worst(a: Check, b: Check | undefined): Check {
  if (!b || a.status === 'invalid') return a;
  if (b.status === 'invalid' || a.status === 'valid') return b.status === 'valid' ? a : b;
  return a;
}

function countersignatures(buf: Buffer, sd: SignedData, s: CmsSigner): SignatureSummary['countersignatures'] {
  return s.countersignatures.map((c: Countersignature) => {
    const inner = c.signedData ?? sd;
    let check: Check;
    try {
      check = verifyCountersignature(buf, sd, c, s);
    } catch (err) {
      check = { status: 'unverified', reason: reason(err) };
    }
    return {
      kind: c.kind,
      signer: signerOf(buf, inner, c.signer),
      status: check.status,
      ...(check.reason && { reason: check.reason }),
      ...(c.time !== undefined && { at: c.time }),
    };
  });
}

type Summary = Omit<SignatureSummary, 'artifact'>;

/**
 * One summary per signer. `content` is the detached content (module bytes); `contentCheck` checks
 * what the signed content claims against the container (the Authenticode image digest).
 */
function summarise(
  buf: Buffer,
  sd: SignedData,
  format: string,
  content: Uint8Array | undefined,
  contentCheck: ((sd: SignedData) => Check) | undefined,
): Summary[] {
  const certificates = certificateFingerprints(buf, sd);
  const claimed = contentCheck?.(sd);
  return sd.signers.map((s) => {
    let v: { status: Verification; reason?: string; digest?: string };
    try {
      v = verifySigner(buf, sd, s, content ? { content } : {});
    } catch (err) {
      v = { status: 'unverified', reason: reason(err) };
    }
    const check = worst(claimed ?? { status: 'valid' }, v);
    const pending =
      check.status === 'unverified' && !signerCertificate(buf, sd, s)
        ? pendingCheck(buf, sd, s, content)
        : undefined;
    const signedAt =
      s.signedAttrs?.signingTime ?? s.countersignatures.find((c) => c.time !== undefined)?.time;
    const nested = s.nested.flatMap((n) => summarise(buf, n, format, content, contentCheck));
    return {
      sha256: sha256(buf.subarray(s.signature.start, s.signature.end)),
      format,
      signer: signerOf(buf, sd, s),
      signatureAlgorithm: signatureName(s),
      digestAlgorithm: s.digestAlgorithm,
      ...((s.signedAttrs?.messageDigest ?? v.digest) && { digest: s.signedAttrs?.messageDigest ?? v.digest }),
      status: check.status,
      ...(check.reason && { reason: check.reason }),
      ...(signedAt !== undefined && { signedAt }),
      certificates,
      countersignatures: countersignatures(buf, sd, s),
      ...(pending && { pending }),
      ...(nested.length > 0 && { nested }),
    };
  });
}

/** What checking the signature needs once the signer's key is known: all public. */
function pendingCheck(
  buf: Buffer,
  sd: SignedData,
  s: CmsSigner,
  content: Uint8Array | undefined,
): SignatureSummary['pending'] {
  const value = buf.toString('hex', s.signature.start, s.signature.end);
  if (s.signedAttrs) {
    // RFC 5652 §5.4: the signature covers the attributes with the SET tag, not their [0] IMPLICIT one.
    const attrs = Buffer.from(buf.subarray(s.signedAttrs.start, s.signedAttrs.end));
    attrs[0] = 0x31;
    return { signatureAlgorithm: s.signatureAlgorithm, value, signedAttributes: attrs.toString('hex') };
  }
  const data = content ?? (sd.content ? buf.subarray(sd.content.start, sd.content.end) : undefined);
  if (!data || !hashSupported(s.digestAlgorithm)) return undefined;
  return {
    signatureAlgorithm: s.signatureAlgorithm,
    value,
    contentDigest: hash(s.digestAlgorithm, data, 'hex'),
  };
}

/**
 * CMS often names only the key type (rsaEncryption, id-ecPublicKey) and the hash separately; the
 * inventory shows the scheme as a certificate would name it.
 */
export function signatureName(s: CmsSigner): string {
  const h = s.digestAlgorithm.toUpperCase();
  if (s.signatureAlgorithm.oid === '1.2.840.113549.1.1.1') return `${s.digestAlgorithm}WithRSAEncryption`;
  if (s.signatureAlgorithm.oid === '1.2.840.10045.2.1') return `ecdsa-with-${h}`;
  return s.signatureAlgorithm.name;
}

function signatureObservations(offset: number, artifact: Artifact, summaries: Summary[]): Detected[] {
  return summaries.map((s) => ({
    type: 'signature',
    offset,
    encoding: 'der',
    signature: { ...s, artifact },
  }));
}

function allCertificates(buf: Buffer, sd: SignedData): Detected[] {
  return [
    ...certificateObservations(buf, sd),
    ...sd.signers.flatMap((s) => [
      ...s.nested.flatMap((n) => allCertificates(buf, n)),
      ...s.countersignatures.flatMap((c) => (c.signedData ? certificateObservations(buf, c.signedData) : [])),
    ]),
  ];
}

/** Authenticode: each PKCS#7 entry of the attribute certificate table, checked against the image digest. */
function authenticode(buf: Buffer): Detected[] {
  const pe = parsePe(buf);
  const artifact: Artifact = { sha256: sha256(buf), format: 'pe', size: buf.length };
  const imageCheck = (sd: SignedData): Check => {
    if (!sd.content)
      return { status: 'invalid', reason: 'Authenticode SignedData without SpcIndirectDataContent' };
    const spc = parseSpcIndirectData(buf, sd.content);
    if (!['sha1', 'sha256', 'sha384', 'sha512'].includes(spc.digestAlgorithm))
      return { status: 'unverified', reason: `image digest algorithm ${spc.digestAlgorithm} not supported` };
    const actual = authenticodeDigest(buf, pe, spc.digestAlgorithm as 'sha256').toString('hex');
    return actual === spc.digest
      ? { status: 'valid' }
      : { status: 'invalid', reason: `image digest ${actual} differs from the signed ${spc.digest}` };
  };
  const out: Detected[] = [];
  if (pe.certificates.length === 0 && pe.certTable === undefined) return out;
  for (const wc of pe.certificates) {
    if (wc.type !== WIN_CERT_TYPE_PKCS_SIGNED_DATA) continue;
    try {
      const sd = parseSignedData(buf, wc.data.start, derEnd(buf, wc.data));
      out.push(...allCertificates(buf, sd));
      out.push(
        ...signatureObservations(
          wc.offset,
          artifact,
          summarise(buf, sd, 'authenticode', undefined, imageCheck),
        ),
      );
    } catch (err) {
      out.push({
        type: 'unparseable',
        offset: wc.offset,
        encoding: 'der',
        format: 'authenticode',
        reason: reason(err),
      });
    }
  }
  return out;
}

/** WIN_CERTIFICATE data is padded to 8 bytes; the DER inside ends where its outer length says. */
function derEnd(buf: Uint8Array, r: { start: number; end: number }): number {
  if (r.end - r.start < 4 || buf[r.start] !== 0x30) return r.end;
  const l = buf[r.start + 1]!;
  if (l < 0x80) return Math.min(r.end, r.start + 2 + l);
  const n = l & 0x7f;
  if (n === 0 || n > 4) return r.end;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[r.start + 2 + i]!;
  return Math.min(r.end, r.start + 2 + n + len);
}

/** A kernel module's appended PKCS#7: detached over the module bytes before it. */
function moduleSignature(buf: Buffer): Detected[] {
  const ms = findModuleSignature(buf);
  if (!ms) return [];
  if (ms.idTypeName !== 'pkcs7')
    return [
      {
        type: 'unparseable',
        offset: ms.pkcs7.start,
        encoding: 'binary',
        format: 'module-signature',
        reason: `module signature id type ${ms.idTypeName} (pre-4.3 kernels) is not read`,
      },
    ];
  const content = buf.subarray(0, ms.signedLength);
  const artifact: Artifact = { sha256: sha256(content), format: 'kernel-module', size: ms.signedLength };
  const sd = parseSignedData(buf, ms.pkcs7.start, ms.pkcs7.end);
  return [
    ...allCertificates(buf, sd),
    ...signatureObservations(
      ms.pkcs7.start,
      artifact,
      summarise(buf, sd, 'module-signature', content, undefined),
    ),
  ];
}

/**
 * Signatures in a file whose format carries them: PE/COFF Authenticode, kernel module trailers.
 * Never throws: a container that lies becomes an unparseable observation with the reason.
 */
export function signedContainers(buf: Buffer): Detected[] {
  const out: Detected[] = [];
  for (const [format, fn] of [
    ['authenticode', (b: Buffer) => (isPe(b) ? authenticode(b) : [])],
    ['module-signature', moduleSignature],
  ] as const) {
    try {
      out.push(...fn(buf));
    } catch (err) {
      out.push({ type: 'unparseable', offset: 0, encoding: 'binary', format, reason: reason(err) });
    }
  }
  return out;
}

/**
 * A standalone CMS/PKCS#7 SignedData (a .p7s, a RAUC or SWUpdate signature), attached or detached.
 * `detached` is the content of a detached signature when it is known (the file it sits beside).
 */
export function cmsFile(buf: Buffer, offset: number, end: number, detached?: Uint8Array): Detected[] {
  const sd = parseSignedData(buf, offset, end);
  const content = sd.content ? buf.subarray(sd.content.start, sd.content.end) : undefined;
  const artifact: Artifact = content
    ? { sha256: sha256(content), format: 'cms-content', size: content.length }
    : detached
      ? { sha256: sha256(detached), format: 'file', size: detached.length }
      : { sha256: sha256(buf.subarray(offset, end)), format: 'cms-detached', size: end - offset };
  const summaries = summarise(buf, sd, 'cms', content ? undefined : detached, undefined);
  return [...allCertificates(buf, sd), ...signatureObservations(offset, artifact, summaries)];
}

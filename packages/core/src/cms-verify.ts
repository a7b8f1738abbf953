import { createHash } from 'node:crypto';
import type { CmsSigner, Countersignature, Range, SignedData } from './cms.ts';
import { readBer } from './cms-ber.ts';
import { children, readBitString, readOne, seq, Tag } from './der.ts';
import { CoreError, malformed } from './error.ts';
import { hashSupported, verifyWithDigestAlg } from './verify.ts';
import { parseCertificate } from './x509.ts';

/**
 * Checking a CMS signer: the content digest against messageDigest, then the signature over the
 * signed attributes (or the content) with the signer certificate's key. Certificate paths, validity
 * and key usage are not judged here.
 */

export interface SignerVerification {
  readonly status: 'valid' | 'invalid' | 'unverified';
  /** Why, for 'invalid' and 'unverified'. */
  readonly reason?: string;
  /** Lowercase hex digest of the content, with the signer's digest algorithm, when computed. */
  readonly digest?: string;
}

export interface VerifySignerOptions {
  /** The content of a detached signature; it also replaces an encapsulated one. */
  readonly content?: Uint8Array;
  /** The signer's certificate (DER) when the SignedData does not carry it. */
  readonly certificate?: Uint8Array;
}

/**
 * The octets the signers' messageDigest covers: a view into `buf` (for PKCS #7 content of another
 * type than OCTET STRING, the element's value octets), or a copy when BER split it into pieces.
 */
export function signedContent(buf: Uint8Array, sd: SignedData): Uint8Array | undefined {
  const parts = contentParts(buf, sd);
  if (!parts) return undefined;
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function contentParts(buf: Uint8Array, sd: SignedData): Uint8Array[] | undefined {
  const el = sd.contentElement;
  if (sd.content && el && el.tag !== Tag.OCTET_STRING) {
    // PKCS #7 §9.3: the digest covers the content octets of the element, without its tag and length.
    const t = readBer(buf, el.start, el.end);
    return [buf.subarray(t.start, t.end)];
  }
  if (sd.content) return [buf.subarray(sd.content.start, sd.content.end)];
  return sd.contentChunks?.map((r) => buf.subarray(r.start, r.end));
}

// CMS fixes the output length of the extendable-output hashes (RFC 8702 §3; RFC 8419 for Ed448).
const XOF_BYTES: Record<string, number> = { shake128: 32, shake256: 64 };

function digestHex(name: string, parts: readonly Uint8Array[]): string {
  const outputLength = XOF_BYTES[name];
  const h = createHash(name, outputLength === undefined ? undefined : { outputLength });
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** SubjectPublicKeyInfo of a DER certificate, and the subjectPublicKey bits (for a computed key id). */
function certificateKey(cert: Uint8Array): { spki: Uint8Array; bits: Uint8Array } {
  const [tbsT] = seq(cert, readOne(cert), 'Certificate');
  const tbs = seq(cert, tbsT, 'TBSCertificate');
  const spkiT = tbs[tbs[0]?.tag === 0xa0 ? 6 : 5];
  if (spkiT?.tag !== Tag.SEQUENCE) return malformed(`certificate has no SubjectPublicKeyInfo`);
  const [, keyT] = children(cert, spkiT, 2);
  if (!keyT) return malformed(`SubjectPublicKeyInfo without a key at offset ${spkiT.hs}`);
  const bits = readBitString(cert, keyT);
  return { spki: cert.subarray(spkiT.hs, spkiT.end), bits: cert.subarray(bits.start, bits.end) };
}

interface CertId {
  readonly range: Range;
  readonly serial: string;
  readonly issuer: string;
  readonly ski: string;
}

// Identifiers of a SignedData's certificates, parsed once however many signers look them up: a
// hostile message with many signers and many certificates must not cost signers x certificates parses.
const idCache = new WeakMap<readonly Range[], { buf: Uint8Array; ids: CertId[] }>();

function certificateIds(buf: Uint8Array, certs: readonly Range[]): CertId[] {
  const hit = idCache.get(certs);
  if (hit?.buf === buf) return hit.ids;
  const ids: CertId[] = [];
  for (const range of certs) {
    try {
      const cert = parseCertificate(buf, range.start, range.end);
      // Without the extension, RFC 5280 §4.2.1.2 method 1 is what signers compute: SHA-1 of the key bits.
      const ski =
        cert.ski ??
        createHash('sha1')
          .update(certificateKey(buf.subarray(range.start, range.end)).bits)
          .digest('hex');
      ids.push({ range, serial: cert.serial, issuer: cert.issuer.text, ski });
    } catch (e) {
      if (!(e instanceof CoreError)) throw e; // one odd certificate must not hide the signer's
    }
  }
  idCache.set(certs, { buf, ids });
  return ids;
}

function findCertificate(
  buf: Uint8Array,
  sets: readonly (readonly Range[])[],
  signer: CmsSigner,
): Range | undefined {
  const sid = signer.sid;
  for (const certs of sets)
    for (const id of certificateIds(buf, certs))
      if ('ski' in sid ? id.ski === sid.ski : id.serial === sid.serial && id.issuer === sid.issuer.text)
        return id.range;
  return undefined;
}

/** The certificate among sd.certificates that the signer identifier names (issuer and serial, or key id). */
export function signerCertificate(buf: Uint8Array, sd: SignedData, signer: CmsSigner): Range | undefined {
  return findCertificate(buf, [sd.certificates], signer);
}

function verifyOver(
  buf: Uint8Array,
  certs: readonly (readonly Range[])[],
  signer: CmsSigner,
  parts: readonly Uint8Array[],
  certificate: Uint8Array | undefined,
  contentType: string | undefined,
): SignerVerification {
  const alg = signer.digestAlgorithm;
  if (!hashSupported(alg))
    return { status: 'unverified', reason: `digest algorithm ${alg} is not supported` };
  const digest = digestHex(alg, parts);
  let data: Uint8Array;
  const sa = signer.signedAttrs;
  if (sa) {
    if (sa.messageDigest === undefined)
      return { status: 'invalid', reason: 'signed attributes hold no messageDigest', digest };
    if (sa.messageDigest !== digest)
      return {
        status: 'invalid',
        reason: `message digest mismatch: signed ${sa.messageDigest}, content hashes to ${digest}`,
        digest,
      };
    if (contentType !== undefined && sa.contentType !== undefined && sa.contentType !== contentType)
      return {
        status: 'invalid',
        reason: `contentType attribute ${sa.contentType} differs from eContentType ${contentType}`,
        digest,
      };
    try {
      readOne(buf, sa.start, sa.end);
    } catch {
      // The signature covers the DER encoding; BER attributes would have to be re-encoded first.
      return { status: 'unverified', reason: 'signed attributes are not DER', digest };
    }
    const set = Buffer.from(buf.subarray(sa.start, sa.end));
    set[0] = Tag.SET; // RFC 5652 §5.4: the signature covers the attributes as an explicit SET OF
    data = set;
  } else data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  let cert = certificate;
  if (!cert) {
    const r = findCertificate(buf, certs, signer);
    if (r) cert = buf.subarray(r.start, r.end);
  }
  if (!cert)
    return {
      status: 'unverified',
      reason: 'signer certificate not found: no certificate matches the signer identifier and none was given',
      digest,
    };
  try {
    const { spki } = certificateKey(cert);
    const sig = buf.subarray(signer.signature.start, signer.signature.end);
    return verifyWithDigestAlg(spki, signer.signatureAlgorithm, alg, data, sig)
      ? { status: 'valid', digest }
      : { status: 'invalid', reason: 'signature does not verify with the signer certificate key', digest };
  } catch (e) {
    if (e instanceof CoreError) return { status: 'unverified', reason: e.message, digest };
    throw e;
  }
}

/**
 * Verify one signer of `sd`. The content is opts.content (detached) or the encapsulated content;
 * with signed attributes their messageDigest must match it and the signature covers them,
 * otherwise the signature covers the content itself.
 */
export function verifySigner(
  buf: Uint8Array,
  sd: SignedData,
  signer: CmsSigner,
  opts: VerifySignerOptions = {},
): SignerVerification {
  const parts = opts.content ? [opts.content] : contentParts(buf, sd);
  if (!parts) return { status: 'unverified', reason: 'content is detached and was not supplied' };
  return verifyOver(buf, [sd.certificates], signer, parts, opts.certificate, sd.contentType);
}

/**
 * Verify `cs`, a countersignature of `signer`. PKCS #9: the countersigner signs the parent's
 * signature value, and its certificate is looked for in `sd` (the SignedData that carries `signer`).
 * RFC 3161: the TSTInfo messageImprint must be the hash of the parent's signature value and the
 * token's signer must verify over the TSTInfo; its certificate is looked for in the token, then in `sd`.
 */
export function verifyCountersignature(
  buf: Uint8Array,
  sd: SignedData,
  cs: Countersignature,
  signer: CmsSigner,
  opts: { readonly certificate?: Uint8Array } = {},
): SignerVerification {
  const value = buf.subarray(signer.signature.start, signer.signature.end);
  if (cs.kind === 'pkcs9')
    return verifyOver(buf, [sd.certificates], cs.signer, [value], opts.certificate, undefined);
  const token = cs.signedData;
  if (!token || cs.imprint === undefined || cs.imprintAlgorithm === undefined)
    return { status: 'unverified', reason: 'time-stamp token holds no TSTInfo' };
  if (!hashSupported(cs.imprintAlgorithm))
    return { status: 'unverified', reason: `imprint hash ${cs.imprintAlgorithm} is not supported` };
  const imprint = digestHex(cs.imprintAlgorithm, [value]);
  if (imprint !== cs.imprint)
    return {
      status: 'invalid',
      reason: `time-stamp imprint ${cs.imprint} is not the hash of the signature value (${imprint})`,
    };
  const parts = contentParts(buf, token);
  if (!parts) return { status: 'unverified', reason: 'time-stamp token content is detached' };
  return verifyOver(
    buf,
    [token.certificates, sd.certificates],
    cs.signer,
    parts,
    opts.certificate,
    token.contentType,
  );
}

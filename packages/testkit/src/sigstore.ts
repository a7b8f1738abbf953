import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';

/**
 * Sigstore bundles and DSSE envelopes signed with node:crypto keys, since no Sigstore client is
 * packaged for Debian. Field names follow sigstore/protobuf-specs (bundle.proto, common.proto,
 * rekor.proto in their proto3 JSON form: camelCase, bytes as standard base64, int64 as strings)
 * and secure-systems-lab/dsse envelope.md; in-toto Statements follow in-toto/attestation spec v0.1/v1.
 */

export type SigstoreBundleVersion = '0.1' | '0.2' | '0.3';

export const SIGSTORE_MEDIA_TYPES: Record<SigstoreBundleVersion, string> = {
  '0.1': 'application/vnd.dev.sigstore.bundle+json;version=0.1',
  '0.2': 'application/vnd.dev.sigstore.bundle+json;version=0.2',
  // v0.3 introduced this spelling; the ;version=0.3 form is also accepted by clients.
  '0.3': 'application/vnd.dev.sigstore.bundle.v0.3+json',
};

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** The hash Sigstore clients pair with a key: curve-sized for ECDSA, none for Ed25519, SHA-256 for RSA. */
function hashFor(key: KeyObject): string | null {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519' || t === 'ed448') return null;
  if (t === 'ec') {
    const c = key.asymmetricKeyDetails?.namedCurve;
    return c === 'secp384r1' ? 'sha384' : c === 'secp521r1' ? 'sha512' : 'sha256';
  }
  return 'sha256';
}

/** Signs as a Sigstore client would: DER ECDSA, PKCS#1 v1.5 RSA, pure Ed25519. */
export function sigstoreSign(key: KeyObject, data: Uint8Array): Buffer {
  return sign(hashFor(key), data, key);
}

/** DSSE PAE (envelope.md "Signature definition"), written independently of core's. */
function pae(type: string, body: Uint8Array): Buffer {
  const t = Buffer.from(type);
  return Buffer.concat([
    Buffer.from('DSSEv1 ' + String(t.length) + ' '),
    t,
    Buffer.from(' ' + String(body.length) + ' '),
    body,
  ]);
}

export interface DsseOptions {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  /** One signature per key; `keyid` is optional in DSSE and left out when not given. */
  readonly signers: readonly { readonly key: KeyObject; readonly keyid?: string }[];
}

/** envelope.md: {payload, payloadType, signatures: [{keyid, sig}]} with payload and sig in base64. */
export function buildDsseEnvelope(o: DsseOptions): {
  payload: string;
  payloadType: string;
  signatures: { keyid?: string; sig: string }[];
} {
  const msg = pae(o.payloadType, o.payload);
  return {
    payload: b64(o.payload),
    payloadType: o.payloadType,
    signatures: o.signers.map((s) => ({
      ...(s.keyid !== undefined && { keyid: s.keyid }),
      sig: b64(sigstoreSign(s.key, msg)),
    })),
  };
}

/** An in-toto Statement whose subjects are named artifacts with their SHA-256. */
export function inTotoStatement(
  subjects: readonly { name: string; bytes: Uint8Array }[],
  opts: { version?: 'v0.1' | 'v1'; predicateType?: string; predicate?: unknown } = {},
): Buffer {
  const st = {
    _type: `https://in-toto.io/Statement/${opts.version ?? 'v1'}`,
    subject: subjects.map((s) => ({
      name: s.name,
      digest: { sha256: createHash('sha256').update(s.bytes).digest('hex') },
    })),
    predicateType: opts.predicateType ?? 'https://slsa.dev/provenance/v1',
    predicate: opts.predicate ?? {},
  };
  return Buffer.from(JSON.stringify(st));
}

export interface SigstoreBundleOptions {
  readonly version: SigstoreBundleVersion;
  readonly key: KeyObject;
  /**
   * DER certificates, leaf first. v0.1/v0.2 carry them as x509CertificateChain.certificates;
   * v0.3 carries only the leaf as certificate. Absent: publicKey {hint} is used instead.
   */
  readonly certificates?: readonly Uint8Array[];
  /** Either the artifact (messageSignature over its bytes) or a DSSE payload. */
  readonly artifact?: Uint8Array;
  readonly dsse?: { readonly payloadType: string; readonly payload: Uint8Array };
  /** Fake Rekor entries (not verifiable: no log signs them), to exercise counting. */
  readonly tlogEntries?: number;
  /** Epoch seconds for the entries' integratedTime. */
  readonly integratedTime?: number;
}

/** bundle.proto Bundle: mediaType, verificationMaterial and one of messageSignature | dsseEnvelope. */
export function buildSigstoreBundle(o: SigstoreBundleOptions): Buffer {
  const certs = o.certificates ?? [];
  const leaf = certs[0];
  const spki = createPublicKey(o.key).export({ type: 'spki', format: 'der' });
  const material: Record<string, unknown> =
    leaf === undefined
      ? { publicKey: { hint: createHash('sha256').update(spki).digest('base64') } }
      : o.version === '0.3'
        ? { certificate: { rawBytes: b64(leaf) } }
        : { x509CertificateChain: { certificates: certs.map((c) => ({ rawBytes: b64(c) })) } };
  const time = o.integratedTime ?? 1_700_000_000;
  // rekor.proto TransparencyLogEntry; the values are placeholders, never a real log's.
  material['tlogEntries'] = Array.from({ length: o.tlogEntries ?? 0 }, (_, i) => ({
    logIndex: String(1000 + i),
    logId: { keyId: b64(createHash('sha256').update(`log-${i}`).digest()) },
    kindVersion: { kind: o.dsse ? 'dsse' : 'hashedrekord', version: '0.0.1' },
    integratedTime: String(time + i),
    canonicalizedBody: b64(Buffer.from('{}')),
  }));
  const bundle: Record<string, unknown> = {
    mediaType: SIGSTORE_MEDIA_TYPES[o.version],
    verificationMaterial: material,
  };
  if (o.dsse) {
    const env = buildDsseEnvelope({ ...o.dsse, signers: [{ key: o.key }] });
    bundle['dsseEnvelope'] = env;
  } else {
    const artifact = o.artifact ?? Buffer.alloc(0);
    bundle['messageSignature'] = {
      messageDigest: { algorithm: 'SHA2_256', digest: b64(createHash('sha256').update(artifact).digest()) },
      signature: b64(sigstoreSign(o.key, artifact)),
    };
  }
  return Buffer.from(JSON.stringify(bundle, null, 2));
}

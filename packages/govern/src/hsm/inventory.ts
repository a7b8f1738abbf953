import { X509Certificate } from 'node:crypto';
import { EC_CURVES, parseCertificate } from '@keywarden/core';
import type { Hsm, HsmObjectAttributes, HsmSlot, HsmToken } from './hsm.ts';
import { KEY_USAGES } from './hsm.ts';
import { CKO, KEY_TYPES, OBJECT_CLASSES } from './pkcs11-constants.ts';
import { pkcs11Uri, uriType } from './pkcs11-uri.ts';
import { curveOf, hasPublicParts, publicKeyOf, type KeyIdentity } from './spki.ts';

/**
 * What a token holds, as Keywarden records it: every object with its protection flags, and for keys
 * the key identity (SHA-256 of SPKI) so an HSM key meets the certificates and signatures found
 * elsewhere. Objects sharing a CKA_ID are one key's halves and certificate; they are linked here.
 */

export interface HsmCertificateSummary {
  readonly sha256: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly keyId: string;
}

export interface HsmKeyFlags {
  readonly token?: boolean;
  readonly private?: boolean;
  readonly modifiable?: boolean;
  readonly sensitive?: boolean;
  readonly extractable?: boolean;
  readonly neverExtractable?: boolean;
  readonly alwaysSensitive?: boolean;
  /** CKA_LOCAL: true when the key was generated on the token, false when imported. */
  readonly local?: boolean;
}

export type KeySource = 'public-key-info' | 'own-attributes' | 'public-key-object' | 'certificate';

export interface HsmInventoryObject {
  readonly class: string;
  readonly keyType?: string;
  readonly label?: string;
  /** The curve CKA_EC_PARAMS names, also for a private key whose identity is unknown. */
  readonly curve?: string;
  /** CKA_ID, lowercase hex. */
  readonly id?: string;
  /** RFC 7512 URI of the object on its token. */
  readonly uri: string;
  readonly flags: HsmKeyFlags;
  /** The usages the token reports true (sign, decrypt, ...). */
  readonly usage: readonly string[];
  readonly key?: KeyIdentity;
  /** The SubjectPublicKeyInfo DER, base64: public, so callers can verify what the key signs. */
  readonly spki?: string;
  /** Where the key identity came from; a private key usually borrows it from its public half. */
  readonly keySource?: KeySource;
  /** Why a key has no identity, or why its linked objects disagree about it. */
  readonly keyProblem?: string;
  readonly secretLength?: number;
  readonly certificate?: HsmCertificateSummary;
  /** URIs of the other objects with the same CKA_ID. */
  readonly linked: readonly string[];
}

export interface HsmInventory {
  readonly module: string;
  readonly slots: readonly HsmSlot[];
  readonly tokens: readonly HsmToken[];
  readonly token: HsmToken;
  readonly objects: readonly HsmInventoryObject[];
}

/** Enumerate the open token. */
export function takeInventory(hsm: Hsm, modulePath: string): HsmInventory {
  const token = hsm.token();
  return {
    module: modulePath,
    slots: hsm.slots(),
    tokens: hsm.tokens(),
    token,
    objects: describeObjects(token, hsm.objects()),
  };
}

interface Work {
  readonly attrs: HsmObjectAttributes;
  readonly uri: string;
  readonly id?: string;
  key?: KeyIdentity;
  spki?: string;
  keySource?: KeySource;
  keyProblem?: string;
  certificate?: HsmCertificateSummary;
}

/** The inventory entries for one token's objects: identities, certificates, CKA_ID links. Pure. */
export function describeObjects(
  token: HsmToken,
  objects: readonly HsmObjectAttributes[],
): HsmInventoryObject[] {
  const work: Work[] = objects.map((attrs) => {
    const id = attrs.id && attrs.id.length > 0 ? Buffer.from(attrs.id).toString('hex') : undefined;
    const type = uriType(attrs.class);
    const uri = pkcs11Uri({
      token: token.label,
      serial: token.serial,
      ...(attrs.id && { id: attrs.id }),
      ...(attrs.label !== undefined && { object: attrs.label }),
      ...(type && { type }),
    });
    const w: Work = { attrs, uri, ...(id !== undefined && { id }) };
    ownIdentity(w);
    return w;
  });

  const byId = new Map<string, Work[]>();
  for (const w of work)
    if (w.id !== undefined) {
      const group = byId.get(w.id);
      if (group) group.push(w);
      else byId.set(w.id, [w]);
    }

  for (const group of byId.values()) borrowIdentity(group);

  return work.map((w) => {
    const a = w.attrs;
    const linked = w.id === undefined ? [] : (byId.get(w.id) ?? []).filter((x) => x !== w).map((x) => x.uri);
    const keyType =
      a.keyType === undefined ? undefined : (KEY_TYPES[a.keyType] ?? `0x${a.keyType.toString(16)}`);
    const curve = curveName(a);
    return {
      class: OBJECT_CLASSES[a.class] ?? `0x${a.class.toString(16)}`,
      ...(keyType !== undefined && { keyType }),
      ...(a.label !== undefined && { label: a.label }),
      ...(curve !== undefined && { curve }),
      ...(w.id !== undefined && { id: w.id }),
      uri: w.uri,
      flags: flagsOf(a),
      usage: KEY_USAGES.filter((u) => a.usage[u] === true),
      ...(w.key && { key: w.key }),
      ...(w.spki !== undefined && { spki: w.spki }),
      ...(w.keySource && { keySource: w.keySource }),
      ...(w.keyProblem !== undefined && { keyProblem: w.keyProblem }),
      ...(a.valueLength !== undefined && { secretLength: a.valueLength }),
      ...(w.certificate && { certificate: w.certificate }),
      linked,
    };
  });
}

function curveName(a: HsmObjectAttributes): string | undefined {
  if (!a.ecParams) return undefined;
  try {
    const c = curveOf(a.ecParams);
    return EC_CURVES[c]?.name ?? c;
  } catch {
    return undefined;
  }
}

function flagsOf(a: HsmObjectAttributes): HsmKeyFlags {
  const out: Record<string, boolean> = {};
  for (const k of [
    'token',
    'private',
    'modifiable',
    'sensitive',
    'extractable',
    'neverExtractable',
    'alwaysSensitive',
    'local',
  ] as const) {
    const v = a[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function problem(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Identity from the object's own attributes: a public key, a certificate, an RSA private key. */
function ownIdentity(w: Work): void {
  const a = w.attrs;
  if (a.class === CKO.CERTIFICATE) {
    if (!a.certificate) {
      w.keyProblem =
        a.certificateType === 0 ? 'CKA_VALUE of the certificate is unreadable' : 'not an X.509 certificate';
      return;
    }
    try {
      const c = parseCertificate(a.certificate);
      w.certificate = {
        sha256: c.sha256,
        subject: c.subject.text,
        issuer: c.issuer.text,
        serial: c.serial,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        keyId: c.publicKey.keyId,
      };
      w.key = {
        keyId: c.publicKey.keyId,
        algorithm: c.publicKey.algorithm,
        ...(c.publicKey.size !== undefined && { size: c.publicKey.size }),
        ...(c.publicKey.curve !== undefined && { curve: c.publicKey.curve }),
      };
      w.spki = new X509Certificate(a.certificate).publicKey
        .export({ type: 'spki', format: 'der' })
        .toString('base64');
      w.keySource = 'certificate';
    } catch (e) {
      w.keyProblem = `certificate does not parse: ${problem(e)}`;
    }
    return;
  }
  if (a.class !== CKO.PUBLIC_KEY && a.class !== CKO.PRIVATE_KEY) return;
  if (!hasPublicParts(a)) return;
  try {
    const p = publicKeyOf(a);
    w.key = p.key;
    w.spki = p.spki.toString('base64');
    w.keySource = a.publicKeyInfo && a.publicKeyInfo.length > 0 ? 'public-key-info' : 'own-attributes';
  } catch (e) {
    w.keyProblem = problem(e);
  }
}

/**
 * A private key without public parts takes the identity of its public half, else its certificate.
 * Objects of one CKA_ID naming different keys are reported, not silently merged.
 */
function borrowIdentity(group: Work[]): void {
  const ids = new Set(group.map((w) => w.key?.keyId).filter((x): x is string => x !== undefined));
  if (ids.size > 1)
    for (const w of group)
      if (
        w.attrs.class === CKO.PRIVATE_KEY ||
        w.attrs.class === CKO.PUBLIC_KEY ||
        w.attrs.class === CKO.CERTIFICATE
      )
        w.keyProblem = `objects with CKA_ID ${w.id} name ${ids.size} different keys`;
  const donor =
    group.find((w) => w.attrs.class === CKO.PUBLIC_KEY && w.key) ??
    group.find((w) => w.attrs.class === CKO.CERTIFICATE && w.key);
  if (!donor?.key) return;
  for (const w of group)
    if (w.attrs.class === CKO.PRIVATE_KEY && !w.key && w.keyProblem === undefined) {
      w.key = donor.key;
      if (donor.spki !== undefined) w.spki = donor.spki;
      w.keySource = donor.attrs.class === CKO.PUBLIC_KEY ? 'public-key-object' : 'certificate';
    }
}

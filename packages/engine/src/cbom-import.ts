/**
 * CycloneDX 1.6 CBOM import: the cryptographic assets a BOM declares (ours or another tool's) become
 * store assets whose only occurrence is `cbom:<source>#<bom-ref>`, so an inventory shows them as
 * declared by that source rather than measured. The whole file is checked before anything is
 * written, and then written as one batch (one transaction): a bad file leaves the store as it was.
 */
import { createHash } from 'node:crypto';
import {
  KEY_ALGORITHMS,
  parseCertificate,
  type CertificationRequestSummary,
  type CrlSummary,
  type SignatureSummary,
  type SshCertificateSummary,
} from '@keywarden/core';
import type { Detected } from '@keywarden/scan';
import { assetId, type AssetInput, type AssetKind, type OccurrenceInput, type Store } from '@keywarden/store';
import { P } from './cbom-export.ts';
import { EngineError } from './error.ts';
import { BatchBuilder } from './normalise.ts';

export interface ImportOptions {
  /** Who declared the BOM (a supplier, a tool run); it names every occurrence the import records. */
  readonly source: string;
  /** The instant recorded as first/last seen (epoch ms). Default: now. */
  readonly at?: number;
}

export interface ImportSummary {
  readonly scanId: string;
  readonly source: string;
  /** Components read, nested ones included. */
  readonly components: number;
  readonly certificates: number;
  readonly keys: number;
  readonly signatures: number;
  readonly artifacts: number;
  readonly csrs: number;
  readonly crls: number;
  readonly sshCertificates: number;
  /** Algorithm components: not assets of their own; their names fill the assets that refer to them. */
  readonly algorithms: number;
  readonly edges: number;
  /** Components not imported (protocols, secrets, libraries, ...). */
  readonly skipped: number;
  /** Why, for the first few skipped components and dangling references. */
  readonly notes: readonly string[];
}

export const MAX_BOM_BYTES = 256 * 1024 * 1024;
const MAX_COMPONENTS = 1_000_000;
const MAX_NESTING = 8;
/** Properties of one component, refs of one dependency, items of one array in a record. */
const MAX_LIST = 100_000;
/** Of any JSON value walked here; JSON.parse itself does not recurse, our walks do. */
const MAX_DEPTH = 32;
const MAX_DER_BASE64 = 1 << 21;
const MAX_NOTES = 50;

type Obj = Record<string, unknown>;
const HEX64 = /^[0-9a-f]{64}$/;
const PRIVATE_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

function invalid(where: string, why: string, cause?: unknown): never {
  throw new EngineError('INPUT_INVALID', `${where}: ${why}`, cause === undefined ? undefined : { cause });
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function optStr(o: Obj, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') invalid(where, `${k} is not a string`);
  return v;
}

function optObj(o: Obj, k: string, where: string): Obj | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!isObj(v)) invalid(where, `${k} is not an object`);
  return v;
}

function optArr(o: Obj, k: string, where: string, max: number): unknown[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) invalid(where, `${k} is not an array`);
  if (v.length > max) invalid(where, `${k} has ${v.length} entries, over the limit of ${max}`);
  return v;
}

function optInt(o: Obj, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    invalid(where, `${k} is not a non-negative integer`);
  return v;
}

function optDate(o: Obj, k: string, where: string): number | undefined {
  const v = optStr(o, k, where);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(t))
    invalid(where, `${k} "${v}" is not an ISO 8601 date-time`);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Records carried in properties are rebuilt field by field from a shape: a wrong type is refused,
// and fields the shape does not name are dropped, so nothing unexpected reaches the store.

type Shape = 'str' | 'num' | 'bool' | 'hex' | ReadonlySet<string> | readonly [Shape] | Fields | (() => Shape);
interface Fields {
  readonly [field: string]: Shape;
}

function conform(v: unknown, s: Shape, where: string, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) invalid(where, `${path} is nested deeper than ${MAX_DEPTH} levels`);
  if (typeof s === 'function') return conform(v, s(), where, path, depth);
  if (s === 'str' || s === 'hex') {
    if (typeof v !== 'string') invalid(where, `${path} is not a string`);
    if (s === 'hex' && !HEX64.test(v)) invalid(where, `${path} is not a lowercase hex SHA-256`);
    return v;
  }
  if (s === 'num') {
    if (typeof v !== 'number' || !Number.isFinite(v)) invalid(where, `${path} is not a number`);
    return v;
  }
  if (s === 'bool') {
    if (typeof v !== 'boolean') invalid(where, `${path} is not a boolean`);
    return v;
  }
  if (s instanceof Set) {
    if (typeof v !== 'string' || !s.has(v)) invalid(where, `${path} is not one of ${[...s].join(', ')}`);
    return v;
  }
  if (Array.isArray(s)) {
    if (!Array.isArray(v)) invalid(where, `${path} is not an array`);
    if (v.length > MAX_LIST) invalid(where, `${path} has more than ${MAX_LIST} items`);
    return v.map((x, i) => conform(x, (s as readonly [Shape])[0], where, `${path}[${i}]`, depth + 1));
  }
  const fields = s as Fields;
  if (!isObj(v)) invalid(where, `${path} is not an object`);
  for (const k of Object.keys(fields))
    if (!k.endsWith('?') && v[k] === undefined) invalid(where, `${path}.${k} is missing`);
  const out: Obj = {};
  // The input's key order is kept, so a record exported and imported again reads the same.
  for (const k of Object.keys(v)) {
    const f = fields[k] ?? fields[`${k}?`];
    if (f !== undefined) out[k] = conform(v[k], f, where, `${path}.${k}`, depth + 1);
  }
  return out;
}

const KEY_INFO: Fields = { 'keyId?': 'hex', algorithm: 'str', 'size?': 'num', 'curve?': 'str' };
const SIGNER: Fields = {
  'keyId?': 'hex',
  'certificate?': 'hex',
  'subject?': 'str',
  'issuer?': 'str',
  'serial?': 'str',
  'ski?': 'str',
  'keyAlgorithm?': 'str',
  'keySize?': 'num',
  'curve?': 'str',
};
const STATUS = new Set(['valid', 'invalid', 'unverified']);
const SIGNED: Fields = {
  sha256: 'hex',
  format: 'str',
  signer: SIGNER,
  signatureAlgorithm: 'str',
  'digestAlgorithm?': 'str',
  'digest?': 'str',
  status: STATUS,
  'reason?': 'str',
  'signedAt?': 'num',
  certificates: ['hex'],
  countersignatures: [{ kind: 'str', signer: SIGNER, status: STATUS, 'reason?': 'str', 'at?': 'num' }],
  'nested?': [() => SIGNED],
};
const SIGNATURE: Fields = { ...SIGNED, artifact: { sha256: 'hex', format: 'str', size: 'num' } };
const CSR: Fields = {
  sha256: 'hex',
  subject: 'str',
  key: KEY_INFO,
  signatureAlgorithm: 'str',
  extensions: [{ oid: 'str', name: 'str', critical: 'bool' }],
};
const CRL: Fields = {
  sha256: 'hex',
  issuer: 'str',
  thisUpdate: 'num',
  'nextUpdate?': 'num',
  'crlNumber?': 'str',
  'aki?': 'str',
  signatureAlgorithm: 'str',
  entries: 'num',
};
const SSH: Fields = {
  sha256: 'hex',
  type: 'str',
  certType: new Set(['user', 'host']),
  serial: 'str',
  keyIdentifier: 'str',
  principals: ['str'],
  validAfter: 'num',
  'validBefore?': 'num',
  key: KEY_INFO,
  signatureKey: KEY_INFO,
  criticalOptions: ['str'],
  extensions: ['str'],
};

// ---------------------------------------------------------------------------------------------
// Components as read.

type Kind =
  'algorithm' | 'certificate' | 'ssh-certificate' | 'key' | 'signature' | 'csr' | 'crl' | 'artifact';

interface Component {
  readonly c: Obj;
  readonly ref?: string;
  /** How messages and provenance name it: its bom-ref, or its place in the document. */
  readonly label: string;
  readonly place: string;
  readonly type: string;
  readonly name: string;
  readonly crypto?: Obj;
  readonly props: Map<string, string[]>;
  /** From `hashes`, lowercased. */
  readonly sha256?: string;
  readonly kind?: Kind;
  readonly skip?: string;
}

function flatten(list: unknown[]): { c: Obj; place: string }[] {
  const out: { c: Obj; place: string }[] = [];
  const todo: { list: unknown[]; depth: number; path: string }[] = [{ list, depth: 0, path: 'components' }];
  for (let next = todo.pop(); next; next = todo.pop()) {
    for (let i = 0; i < next.list.length; i++) {
      const place = `${next.path}[${i}]`;
      const c = next.list[i];
      if (!isObj(c)) invalid(place, 'not an object');
      out.push({ c, place });
      if (out.length > MAX_COMPONENTS) invalid('components', `more than ${MAX_COMPONENTS} components`);
      const sub = optArr(c, 'components', place, MAX_COMPONENTS);
      if (sub) {
        if (next.depth + 1 > MAX_NESTING)
          invalid(place, `components nested deeper than ${MAX_NESTING} levels`);
        todo.push({ list: sub, depth: next.depth + 1, path: `${place}.components` });
      }
    }
  }
  return out;
}

function readComponent(c: Obj, place: string): Component {
  const ref = optStr(c, 'bom-ref', place);
  const label = ref === undefined ? place : `component ${ref}`;
  const type = optStr(c, 'type', label);
  if (type === undefined) invalid(label, 'has no type');
  const name = optStr(c, 'name', label) ?? '';
  const crypto = optObj(c, 'cryptoProperties', label);
  const props = new Map<string, string[]>();
  for (const [i, p] of (optArr(c, 'properties', label, MAX_LIST) ?? []).entries()) {
    if (!isObj(p)) invalid(label, `properties[${i}] is not an object`);
    const n = optStr(p, 'name', label);
    if (n === undefined) invalid(label, `properties[${i}] has no name`);
    const v = optStr(p, 'value', label) ?? '';
    const list = props.get(n);
    if (list) list.push(v);
    else props.set(n, [v]);
  }
  let sha256: string | undefined;
  for (const [i, h] of (optArr(c, 'hashes', label, 64) ?? []).entries()) {
    if (!isObj(h)) invalid(label, `hashes[${i}] is not an object`);
    const content = optStr(h, 'content', label);
    if (optStr(h, 'alg', label) !== 'SHA-256') continue;
    if (content === undefined || !/^[0-9a-fA-F]{64}$/.test(content))
      invalid(label, `hashes[${i}] is not a SHA-256 value`);
    sha256 = content.toLowerCase();
  }
  const base = { c, ...(ref !== undefined && { ref }), label, place, type, name, props };
  const classified = classify(type, crypto, props, label);
  return { ...base, ...(crypto && { crypto }), ...(sha256 && { sha256 }), ...classified };
}

function classify(
  type: string,
  crypto: Obj | undefined,
  props: Map<string, string[]>,
  label: string,
): { kind: Kind } | { skip: string } {
  if (type === 'firmware' || type === 'file') return { kind: 'artifact' };
  if (type !== 'cryptographic-asset') return { skip: `a ${type} component, not a cryptographic asset` };
  if (!crypto) return { skip: 'a cryptographic asset without cryptoProperties' };
  const assetType = optStr(crypto, 'assetType', label);
  const ours = props.get(P.kind)?.[0];
  if (assetType === 'algorithm') return { kind: 'algorithm' };
  if (assetType === 'certificate') {
    const format = optStr(optObj(crypto, 'certificateProperties', label) ?? {}, 'certificateFormat', label);
    return ours === 'ssh-certificate' || /openssh/i.test(format ?? '')
      ? { kind: 'ssh-certificate' }
      : { kind: 'certificate' };
  }
  if (assetType === 'related-crypto-material') {
    if (ours === 'csr' || ours === 'crl') return { kind: ours };
    const rcm = optObj(crypto, 'relatedCryptoMaterialProperties', label);
    const t = rcm ? optStr(rcm, 'type', label) : undefined;
    if (t === 'private-key' || t === 'public-key' || t === 'key') return { kind: 'key' };
    if (t === 'signature') return { kind: 'signature' };
    // Secret keys, passwords and tokens have no asset kind in the store yet.
    return { skip: `related crypto material of type ${t ?? 'unknown'} is not inventoried` };
  }
  return { skip: `asset type ${assetType ?? 'unknown'} is not inventoried` };
}

const one = (x: Component, name: string): string | undefined => x.props.get(name)?.[0];

/** JSON with sorted keys; each string under a key ending in `Ref` is written by `ref` instead. */
function canonical(
  v: unknown,
  depth: number,
  where: string,
  ref: (r: string, depth: number) => string,
  key = '',
): string {
  if (depth > MAX_DEPTH) invalid(where, `nested deeper than ${MAX_DEPTH} levels`);
  if (typeof v === 'string') return key.endsWith('Ref') ? ref(v, depth) : JSON.stringify(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, depth + 1, where, ref, key)).join(',')}]`;
  const o = v as Obj;
  const body = Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k], depth + 1, where, ref, k)}`);
  return `{${body.join(',')}}`;
}

/** cryptoProperties without a key's `value`, which is never read, hashed or stored. */
function material(crypto: Obj | undefined): Obj {
  if (!crypto) return {};
  const rcm = crypto.relatedCryptoMaterialProperties;
  if (!isObj(rcm)) return crypto;
  const kept: Obj = {};
  for (const [k, v] of Object.entries(rcm)) if (k !== 'value') kept[k] = v;
  return { ...crypto, relatedCryptoMaterialProperties: kept };
}

/** Everything a component says except its bom-ref, its places, its children and a key's value. */
function declaration(x: Component): Obj {
  const rest: Obj = {};
  for (const [k, v] of Object.entries(x.c))
    if (k !== 'bom-ref' && k !== 'evidence' && k !== 'components') rest[k] = v;
  if (x.crypto) rest.cryptoProperties = material(x.crypto);
  return rest;
}

// ---------------------------------------------------------------------------------------------
// From declarations to store rows.

interface AlgorithmDecl {
  readonly name: string;
  readonly curve?: string;
  readonly parameterSetIdentifier?: string;
}

interface KeyDecl {
  readonly identity: string;
  readonly keyId?: string;
  readonly algorithm?: string;
  readonly size?: number;
  readonly curve?: string;
  readonly private: boolean;
}

const KEY_NAMES = Object.values(KEY_ALGORITHMS).map((a) => a.name);

/** A key algorithm as our inventory names it, from a foreign algorithm name (RSA-2048, ECDSA-P256, ...). */
function family(name: string): string {
  const n = name.trim();
  const exact = KEY_NAMES.find((k) => k.toLowerCase() === n.toLowerCase());
  if (exact) return exact;
  if (/^rsa/i.test(n)) return /pss/i.test(n) ? 'RSA-PSS' : 'RSA';
  if (/^ec(dsa|dh)?([-_ ]|$)/i.test(n)) return 'EC';
  if (/^dsa([-_ ]|$)/i.test(n)) return 'DSA';
  return KEY_NAMES.find((k) => n.toLowerCase().startsWith(k.toLowerCase())) ?? n;
}

const CURVE_ALIASES: Record<string, string> = {
  secp192r1: 'P-192',
  prime192v1: 'P-192',
  secp224r1: 'P-224',
  secp256r1: 'P-256',
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** `nist/P-256` (the catalogue form our export writes) or a bare name, as the inventory names curves. */
function curveName(c: string): string {
  const bare = c.replace(/^[A-Za-z0-9_-]+\//, '');
  return CURVE_ALIASES[bare.toLowerCase()] ?? bare;
}

interface Place {
  layer?: string;
  private?: boolean;
  encrypted?: boolean;
}

/** The per-occurrence facts a keywarden export carries, to keep layer and protection across the trip. */
function places(x: Component): Place[] {
  return (x.props.get(P.occurrence) ?? []).map((text) => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return invalid(x.label, `${P.occurrence} is not JSON`);
    }
    return conform(
      v,
      { 'layer?': 'str', 'private?': 'bool', 'encrypted?': 'bool' },
      x.label,
      P.occurrence,
      0,
    ) as Place;
  });
}

function layerOf(ps: readonly Place[]): string {
  const layers = new Set(ps.map((p) => p.layer ?? 'unknown'));
  return layers.size === 1 ? [...layers][0]! : 'unknown';
}

const flag = (x: Component, name: string): boolean | undefined => {
  const v = one(x, name);
  return v === undefined ? undefined : v === 'true';
};

function recordOf(x: Component, name: string, shape: Fields): unknown {
  const text = one(x, name);
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return invalid(x.label, `${name} is not JSON`, err);
  }
  const r = conform(v, shape, x.label, name, 0) as { sha256: string };
  if (x.sha256 && x.sha256 !== r.sha256) invalid(x.label, `its SHA-256 hash does not match ${name}`);
  return r;
}

class Importer {
  readonly rows = new BatchBuilder();
  readonly byRef = new Map<string, Component>();
  readonly algorithms = new Map<string, AlgorithmDecl>();
  readonly keys = new Map<string, KeyDecl>();
  /** bom-ref -> the asset it became. */
  readonly assets = new Map<string, { id: string; kind: AssetKind }>();
  readonly counts = {
    certificate: 0,
    key: 0,
    signature: 0,
    artifact: 0,
    csr: 0,
    crl: 0,
    'ssh-certificate': 0,
  };
  readonly notes: string[] = [];
  skipped = 0;

  constructor(
    readonly source: string,
    readonly components: readonly Component[],
  ) {
    for (const x of components) if (x.ref !== undefined) this.byRef.set(x.ref, x);
  }

  note(text: string): void {
    if (this.notes.length < MAX_NOTES) this.notes.push(text);
  }

  /** Every component we store is checked: no PEM private key may ride in on a name or a property. */
  check(x: Component): void {
    const text = canonical(declaration(x), 0, x.label, (r) => JSON.stringify(r));
    if (PRIVATE_PEM.test(text)) invalid(x.label, 'carries a PEM private key; it is refused, not stored');
  }

  private readonly texts = new Map<string, string>();
  private readonly pending = new Set<string>();

  /**
   * The identity of a declaration that names no key identity or fingerprint: the SHA-256 of its type
   * and cryptoProperties as canonical JSON, each `...Ref` replaced by the referenced component's own
   * cryptoProperties text. Names, properties and bom-refs are left out, because tools such as CBOMkit
   * draw fresh bom-refs (and names like key@<uuid>) on every run; the same declaration then hashes
   * the same. A ref back into a component still being written stays the literal ref.
   */
  contentHash(x: Component): string {
    return createHash('sha256').update(this.cryptoText(x, 0)).digest('hex');
  }

  private cryptoText(x: Component, depth: number): string {
    const known = x.ref === undefined ? undefined : this.texts.get(x.ref);
    if (known !== undefined) return known;
    if (x.ref !== undefined) this.pending.add(x.ref);
    const resolve = (r: string, d: number): string => {
      const t = this.byRef.get(r);
      return t && !this.pending.has(r) ? this.cryptoText(t, d + 1) : JSON.stringify(r);
    };
    const text = canonical({ type: x.type, cryptoProperties: material(x.crypto) }, depth, x.label, resolve);
    if (x.ref !== undefined) {
      this.pending.delete(x.ref);
      this.texts.set(x.ref, text);
    }
    return text;
  }

  private path(x: Component): string {
    return `cbom:${this.source}#${x.ref ?? x.place}`;
  }

  private occurrence(x: Component, id: string, extra: Partial<OccurrenceInput> = {}): void {
    this.rows.occurrences.push({
      assetId: id,
      path: this.path(x),
      offset: 0,
      encoding: 'json',
      format: 'cyclonedx',
      layer: layerOf(places(x)),
      status: 'ok',
      ...extra,
    });
  }

  private stored(x: Component, a: AssetInput, extra?: Partial<OccurrenceInput>): void {
    this.rows.assets.push(a);
    const id = assetId(a.kind, a.identity);
    this.occurrence(x, id, extra);
    this.mark(x, id, a.kind);
  }

  private mark(x: Component, id: string, kind: AssetKind): void {
    if (x.ref !== undefined) this.assets.set(x.ref, { id, kind });
    this.counts[kind as keyof Importer['counts']]++;
  }

  algorithm(x: Component): void {
    const ap = optObj(x.crypto!, 'algorithmProperties', x.label) ?? {};
    const curve = optStr(ap, 'curve', x.label);
    const set = optStr(ap, 'parameterSetIdentifier', x.label);
    if (x.ref !== undefined)
      this.algorithms.set(x.ref, {
        name: x.name,
        ...(curve && { curve }),
        ...(set && { parameterSetIdentifier: set }),
      });
  }

  private algorithmAt(o: Obj, field: string, x: Component): AlgorithmDecl | undefined {
    const r = optStr(o, field, x.label);
    if (r === undefined) return undefined;
    const a = this.algorithms.get(r);
    if (!a) this.note(`${x.label}: ${field} ${r} names no algorithm component`);
    return a;
  }

  key(x: Component): void {
    const rcm = optObj(x.crypto!, 'relatedCryptoMaterialProperties', x.label) ?? {};
    if (rcm.value !== undefined) this.note(`${x.label}: its value was ignored; key material is never stored`);
    const id = optStr(rcm, 'id', x.label)?.toLowerCase();
    const keyId = id !== undefined && HEX64.test(id) ? id : undefined;
    const sealed = one(x, P.sealed);
    if (sealed !== undefined && !HEX64.test(sealed)) invalid(x.label, `${P.sealed} is not a SHA-256`);
    const alg = this.algorithmAt(rcm, 'algorithmRef', x);
    const algorithm = one(x, P.algorithm) ?? (alg && family(alg.name));
    const setSize = alg?.parameterSetIdentifier && /^\d+$/.test(alg.parameterSetIdentifier);
    const size =
      optInt(rcm, 'size', x.label) ??
      (setSize && /^(RSA|RSA-PSS|DSA|DH)$/.test(algorithm ?? '')
        ? Number(alg.parameterSetIdentifier)
        : undefined);
    const curve = one(x, P.curve) ?? (alg?.curve && curveName(alg.curve));
    // A 64-hex id is a key identity (SHA-256 of the SPKI). Otherwise the key is known by the hash
    // of its declaration, like a sealed key by the hash of its container.
    this.check(x);
    const k: KeyDecl = {
      identity: keyId ?? sealed ?? this.contentHash(x),
      ...(keyId && { keyId }),
      ...(algorithm && { algorithm }),
      ...(size !== undefined && { size }),
      ...(curve && { curve }),
      private: optStr(rcm, 'type', x.label) === 'private-key',
    };
    if (x.ref !== undefined) this.keys.set(x.ref, k);
    if (k.keyId && k.algorithm)
      this.rows.keys.push({
        keyId: k.keyId,
        algorithm: k.algorithm,
        ...(k.size !== undefined && { size: k.size }),
        ...(k.curve && { curve: k.curve }),
      });
    const priv = places(x).filter((p) => p.private);
    const encrypted =
      priv.length > 0 && priv.every((p) => p.encrypted === true)
        ? true
        : priv.some((p) => p.encrypted === false)
          ? false
          : undefined;
    this.stored(
      x,
      {
        kind: 'key',
        identity: k.identity,
        ...(k.keyId && { keyId: k.keyId }),
        ...(k.algorithm && { algorithm: k.algorithm }),
        ...(k.size !== undefined && { size: k.size }),
        ...(k.curve && { curve: k.curve }),
        record: { algorithm: k.algorithm, size: k.size, curve: k.curve, sealed: !k.keyId },
      },
      { ...(k.private && { private: true }), ...(encrypted !== undefined && { encrypted }) },
    );
  }

  certificate(x: Component): void {
    this.check(x);
    const der = one(x, P.der);
    if (der !== undefined) return this.certificateFromDer(x, der);
    const cp = optObj(x.crypto!, 'certificateProperties', x.label) ?? {};
    const k = this.keyAt(cp, x);
    const sig = this.algorithmAt(cp, 'signatureAlgorithmRef', x);
    const notBefore = optDate(cp, 'notValidBefore', x.label);
    const notAfter = optDate(cp, 'notValidAfter', x.label);
    // Identity: the SHA-256 from `hashes` (the certificate's fingerprint) when the BOM gives one;
    // otherwise the SHA-256 of the declaration (see contentHash), kept as keywarden:identity
    // by our export so a second trip keeps it.
    const declaredId = one(x, P.identity);
    if (declaredId !== undefined && !HEX64.test(declaredId))
      invalid(x.label, `${P.identity} is not a SHA-256`);
    const identity = x.sha256 ?? declaredId ?? this.contentHash(x);
    const subject = optStr(cp, 'subjectName', x.label);
    const issuer = optStr(cp, 'issuerName', x.label);
    const format = optStr(cp, 'certificateFormat', x.label);
    const [serial, ski, aki] = [one(x, P.serial), one(x, P.ski), one(x, P.aki)];
    this.stored(x, {
      kind: 'certificate',
      identity,
      ...(k?.keyId && { keyId: k.keyId }),
      ...(subject !== undefined && { subject }),
      ...(issuer !== undefined && { issuer }),
      ...(serial !== undefined && { serial }),
      ...(notBefore !== undefined && { notBefore }),
      ...(notAfter !== undefined && { notAfter }),
      ...(k?.algorithm && { algorithm: k.algorithm }),
      ...(k?.size !== undefined && { size: k.size }),
      ...(k?.curve && { curve: k.curve }),
      ...(sig && { signatureAlgorithm: sig.name }),
      ...(ski !== undefined && { ski }),
      ...(aki !== undefined && { aki }),
      isCa: flag(x, P.isCa) ?? false,
      selfSigned: flag(x, P.selfSigned) ?? false,
      record: {
        declared: {
          source: this.source,
          ref: x.ref ?? x.place,
          name: x.name,
          identityFrom: x.sha256 ? 'sha256' : 'content',
          ...(format && { format }),
        },
      },
    });
  }

  private keyAt(cp: Obj, x: Component): KeyDecl | undefined {
    const r = optStr(cp, 'subjectPublicKeyRef', x.label);
    if (r === undefined) return undefined;
    const k = this.keys.get(r);
    if (!k) this.note(`${x.label}: subjectPublicKeyRef ${r} names no key component`);
    return k;
  }

  /** Our own export carries the DER: parse it again so the record is exactly what a scan makes. */
  private certificateFromDer(x: Component, b64: string): void {
    if (b64.length > MAX_DER_BASE64 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
      invalid(x.label, `${P.der} is not base64 of at most ${MAX_DER_BASE64} characters`);
    const der = Buffer.from(b64, 'base64');
    let cert;
    try {
      cert = parseCertificate(der);
    } catch (err) {
      return invalid(x.label, `${P.der} is not a certificate: ${(err as Error).message}`, err);
    }
    if (x.sha256 && x.sha256 !== cert.sha256)
      invalid(x.label, `its SHA-256 hash does not match the certificate in ${P.der}`);
    this.fromObservation(x, { type: 'certificate', offset: 0, encoding: 'json', cert, der });
  }

  private fromObservation(x: Component, o: Detected): void {
    const id = this.rows.add(o, { path: this.path(x), layer: layerOf(places(x)), mode: 0 });
    if (id) this.mark(x, id, id.slice(0, id.indexOf(':')) as AssetKind);
  }

  /** CSRs, CRLs and SSH certificates come back from the record our export wrote; others are skipped. */
  summarised(x: Component): boolean {
    this.check(x);
    if (x.kind === 'csr') {
      const csr = recordOf(x, P.record, CSR) as CertificationRequestSummary | undefined;
      if (csr) this.fromObservation(x, { type: 'csr', offset: 0, encoding: 'json', csr });
      return csr !== undefined;
    }
    if (x.kind === 'crl') {
      const crl = recordOf(x, P.record, CRL) as CrlSummary | undefined;
      if (crl) this.fromObservation(x, { type: 'crl', offset: 0, encoding: 'json', crl });
      return crl !== undefined;
    }
    if (x.kind === 'ssh-certificate') {
      const sshCert = recordOf(x, P.record, SSH) as SshCertificateSummary | undefined;
      if (sshCert) this.fromObservation(x, { type: 'ssh-certificate', offset: 0, encoding: 'json', sshCert });
      return sshCert !== undefined;
    }
    const s = recordOf(x, P.summary, SIGNATURE) as SignatureSummary | undefined;
    if (!s) return false;
    const rcm = optObj(x.crypto!, 'relatedCryptoMaterialProperties', x.label) ?? {};
    const declaredId = optStr(rcm, 'id', x.label);
    if (declaredId !== undefined && declaredId.toLowerCase() !== s.sha256)
      invalid(x.label, `its id does not match ${P.summary}`);
    // A scratch builder makes exactly the rows a scan makes for this signature (identity included);
    // only the signature's own rows are kept. The artifact and the edges come from the BOM's own
    // components and dependencies, which say the same and also say who declared them.
    const scratch = new BatchBuilder();
    const id = scratch.add(
      { type: 'signature', offset: 0, encoding: 'json', signature: s },
      { path: this.path(x), layer: layerOf(places(x)), mode: 0 },
    )!;
    this.rows.keys.push(...scratch.keys);
    this.rows.assets.push(...scratch.assets.filter((a) => assetId(a.kind, a.identity) === id));
    this.rows.occurrences.push(...scratch.occurrences.filter((o) => o.assetId === id));
    this.mark(x, id, 'signature');
    return true;
  }

  artifact(x: Component): void {
    this.check(x);
    const format = one(x, P.format) ?? x.type;
    const sizeText = one(x, P.size);
    if (sizeText !== undefined && !/^\d{1,15}$/.test(sizeText))
      invalid(x.label, `${P.size} is not a byte count`);
    this.stored(x, {
      kind: 'artifact',
      identity: x.sha256!,
      subject: x.name,
      record: { sha256: x.sha256, format, ...(sizeText !== undefined && { size: Number(sizeText) }) },
    });
  }
}

interface Dependency {
  ref: string;
  dependsOn: string[];
}

function readDependencies(list: unknown[]): Dependency[] {
  return list.map((d, i) => {
    const where = `dependencies[${i}]`;
    if (!isObj(d)) invalid(where, 'not an object');
    const ref = optStr(d, 'ref', where);
    if (ref === undefined) invalid(where, 'has no ref');
    const refs = (k: string): string[] =>
      (optArr(d, k, `dependency ${ref}`, MAX_LIST) ?? []).map((r) => {
        if (typeof r !== 'string') invalid(`dependency ${ref}`, `${k} holds a non-string`);
        return r;
      });
    refs('provides');
    return { ref, dependsOn: refs('dependsOn') };
  });
}

function parseBom(json: unknown): Obj {
  let v = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    const size = typeof json === 'string' ? Buffer.byteLength(json) : json.length;
    if (size > MAX_BOM_BYTES) invalid('the BOM', `${size} bytes is over the limit of ${MAX_BOM_BYTES}`);
    const text = typeof json === 'string' ? json : Buffer.from(json).toString('utf8');
    try {
      v = JSON.parse(text);
    } catch (err) {
      return invalid('the BOM', `not JSON: ${(err as Error).message}`, err);
    }
  }
  if (!isObj(v)) invalid('the BOM', 'not a JSON object');
  if (v.bomFormat !== 'CycloneDX') invalid('the BOM', 'bomFormat is not "CycloneDX"');
  // cryptoProperties arrived in 1.6; 1.7 keeps the 1.6 fields (some deprecated).
  if (v.specVersion !== '1.6' && v.specVersion !== '1.7')
    invalid(
      'the BOM',
      `specVersion ${JSON.stringify(v.specVersion)}: only 1.6 and 1.7 describe crypto assets`,
    );
  return v;
}

const MAX_SOURCE = 200;
const VALID_SOURCE = /^[^\s#\x00-\x1f][^#\x00-\x1f]{0,199}$/;
const MAX_SUPPLIER = 64;

/**
 * The import source for a BOM found by a scan: `<supplier> at <path>`, always a valid source. '#'
 * (the separator of `cbom:<source>#<bom-ref>`) and controls are percent-encoded; a path too long
 * keeps its tail (the file's own name and nesting) and a hash of the whole, so two long paths that
 * end alike stay two sources.
 */
export function declaredSource(supplier: string | undefined, path: string): string {
  const clean = (s: string): string =>
    s.replace(/[#%\x00-\x1f\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
  const who = [...clean((supplier ?? '').replace(/\s+/g, ' ').trim())].slice(0, MAX_SUPPLIER).join('').trim();
  const head = `${who || 'sbom'} at `;
  const where = clean(path);
  if (head.length + where.length <= MAX_SOURCE) return head + where;
  const tag = ` (${createHash('sha256').update(path).digest('hex').slice(0, 12)})`;
  // Cut on code points so no surrogate pair is split; the limit counts UTF-16 units like the check.
  const room = MAX_SOURCE - head.length - 3 - tag.length;
  const points = [...where];
  let units = 0;
  let from = points.length;
  while (from > 0 && units + points[from - 1]!.length <= room) units += points[--from]!.length;
  return `${head}...${points.slice(from).join('')}${tag}`;
}

/** Reads a CycloneDX CBOM and stores its cryptographic assets as declared by `opts.source`. */
export async function importCbom(json: unknown, store: Store, opts: ImportOptions): Promise<ImportSummary> {
  const source = opts.source;
  if (!VALID_SOURCE.test(source))
    throw new EngineError(
      'BAD_ARGUMENT',
      `source "${source}" must be 1-200 characters without '#' or controls`,
    );
  const at = opts.at ?? Date.now();
  const bom = parseBom(json);
  const components = flatten(optArr(bom, 'components', 'the BOM', MAX_COMPONENTS) ?? []).map((e) =>
    readComponent(e.c, e.place),
  );
  const dependencies = readDependencies(optArr(bom, 'dependencies', 'the BOM', MAX_COMPONENTS) ?? []);
  const seen = new Set<string>();
  for (const x of components)
    if (x.ref !== undefined) {
      if (seen.has(x.ref)) invalid(x.label, 'its bom-ref is used twice');
      seen.add(x.ref);
    }
  const im = new Importer(source, components);
  const of = (k: Kind): Component[] => components.filter((x) => x.kind === k);
  for (const x of components)
    if (x.skip) {
      im.skipped++;
      im.note(`${x.label}: skipped, ${x.skip}`);
    }
  // Algorithms and keys first: certificates and keys take their names and facts from them.
  for (const x of of('algorithm')) im.algorithm(x);
  for (const x of of('key')) im.key(x);
  for (const x of of('certificate')) im.certificate(x);
  const signatures = new Set<string>();
  for (const k of ['csr', 'crl', 'ssh-certificate', 'signature'] as const)
    for (const x of of(k)) {
      if (im.summarised(x)) {
        if (k === 'signature' && x.ref !== undefined) signatures.add(x.ref);
      } else {
        im.skipped++;
        im.note(`${x.label}: skipped, a ${k} without the keywarden record it is rebuilt from`);
      }
    }
  // A file or firmware component is a signed artifact when we exported it, or when it depends on a
  // signature; anything else in an SBOM-style BOM is not ours to inventory.
  const signed = new Set(
    dependencies.filter((d) => d.dependsOn.some((t) => signatures.has(t))).map((d) => d.ref),
  );
  for (const x of of('artifact')) {
    if (x.sha256 && (one(x, P.format) !== undefined || (x.ref !== undefined && signed.has(x.ref))))
      im.artifact(x);
    else {
      im.skipped++;
      im.note(`${x.label}: skipped, a ${x.type} with no SHA-256 or no signature`);
    }
  }
  for (const d of dependencies) {
    const from = im.assets.get(d.ref);
    for (const t of d.dependsOn) {
      if (!im.byRef.has(t)) im.note(`dependency ${d.ref}: ${t} names no component`);
      const to = im.assets.get(t);
      if (!from || !to) continue;
      const reason = `declared by ${source}: ${d.ref} depends on ${t}`;
      if (from.kind === 'signature' && (to.kind === 'key' || to.kind === 'certificate'))
        im.rows.edges.push({ kind: 'signed-by', from: from.id, to: to.id, reason });
      else if (from.kind === 'artifact' && to.kind === 'signature')
        im.rows.edges.push({ kind: 'covers', from: to.id, to: from.id, reason });
      else if (from.kind === 'artifact' && to.kind === 'certificate')
        im.rows.edges.push({ kind: 'embeds', from: from.id, to: to.id, reason });
    }
  }
  const batch = im.rows.take();
  // Rows made through BatchBuilder name the format they were parsed from; what was read is the BOM.
  const occurrences = batch.occurrences.map((o) => ({ ...o, format: 'cyclonedx' }));
  const c = im.counts;
  const summary = {
    source,
    components: components.length,
    certificates: c.certificate,
    keys: c.key,
    signatures: c.signature,
    artifacts: c.artifact,
    csrs: c.csr,
    crls: c.crl,
    sshCertificates: c['ssh-certificate'],
    algorithms: im.algorithms.size,
    edges: batch.edges?.length ?? 0,
    skipped: im.skipped,
    notes: im.notes,
  };
  const scanId = await store.beginScan([`cbom:${source}`], at);
  try {
    await store.ingest(scanId, at, { ...batch, occurrences });
  } catch (err) {
    await store.finishScan(scanId, at, 'failed', { error: (err as Error).message }).catch(() => undefined);
    throw err;
  }
  await store.finishScan(scanId, at, 'complete', summary);
  return { scanId, ...summary };
}

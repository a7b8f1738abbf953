import { createHash, createPublicKey } from 'node:crypto';
import { parseSpki, type SignatureAlgorithm } from './algorithm.ts';
import { readOne } from './der.ts';
import { CoreError } from './error.ts';
import type { Verification } from './observation.ts';
import { verifySignature } from './verify.ts';

/** Bounds on untrusted TUF/Uptane JSON: metadata above these is refused, not parsed. */
export const TUF_LIMITS = { maxBytes: 4 * 1024 * 1024, maxDepth: 32 } as const;

/**
 * OLPC canonical JSON as python-securesystemslib writes it: keys sorted by code unit, no whitespace,
 * only `\\` and `"` escaped, integers only. Signatures and keyids are computed over these bytes, so
 * any deviation from that writer makes every signature look invalid.
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > TUF_LIMITS.maxDepth) throw new CoreError('TUF_MALFORMED', 'canonical JSON nested too deeply');
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new CoreError('TUF_MALFORMED', 'canonical JSON allows integers only');
    return String(value);
  }
  if (typeof value === 'string') return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // Code-unit order matches Python's sort of str keys for the BMP, which metadata keys stay within.
    const keys = Object.keys(obj).sort();
    return `{${keys.map((k) => `${canonicalJson(k)}:${canonicalJson(obj[k], depth + 1)}`).join(',')}}`;
  }
  throw new CoreError('TUF_MALFORMED', `canonical JSON cannot encode ${typeof value}`);
}

/** The keyid securesystemslib declares: SHA-256 hex of the canonical JSON of the key object. */
export function tufKeyId(key: unknown): string {
  return createHash('sha256').update(canonicalJson(key), 'utf8').digest('hex');
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * SPKI DER of a TUF key, or undefined for a keytype we do not know. ed25519 keyval.public is 32 raw
 * bytes in hex; ecdsa and rsa carry a PEM SubjectPublicKeyInfo.
 */
export function tufKeySpki(key: { keytype?: unknown; keyval?: { public?: unknown } }): Buffer | undefined {
  const pub = key.keyval?.public;
  if (typeof pub !== 'string') return undefined;
  try {
    if (key.keytype === 'ed25519') {
      if (!/^[0-9a-fA-F]{64}$/.test(pub)) return undefined;
      return Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(pub, 'hex')]);
    }
    if (
      typeof key.keytype === 'string' &&
      /^(ecdsa|rsa)/.test(key.keytype) &&
      pub.includes('-----BEGIN PUBLIC KEY-----')
    )
      return createPublicKey(pub).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
  return undefined;
}

/** Our key identity (SHA-256 of SPKI DER) for a TUF key, so TUF keyids become aliases of it. */
export function tufKeyIdentity(key: {
  keytype?: unknown;
  keyval?: { public?: unknown };
}): string | undefined {
  const spki = tufKeySpki(key);
  return spki && createHash('sha256').update(spki).digest('hex');
}

/** Count bounds: a root or delegating targets file with more than this is refused as implausible. */
export const TUF_COUNT_LIMITS = { maxKeys: 1024, maxRoles: 1024, maxSignatures: 1024 } as const;

export type TufRoleType = 'root' | 'targets' | 'snapshot' | 'timestamp';

export interface TufKey {
  /** The keyid the document files the key under. */
  readonly declaredKeyId: string;
  /** Our key identity (SHA-256 of SPKI DER), when the key material is one we can read. */
  readonly keyId?: string;
  /** What securesystemslib would call the key: lets a reader spot a declared keyid computed differently. */
  readonly computedKeyId: string;
  readonly keytype: string;
  readonly scheme: string;
  readonly algorithm?: string;
  readonly size?: number;
  readonly curve?: string;
  readonly spki?: Buffer;
}

export interface TufRoleSpec {
  readonly name: string;
  readonly keyIds: readonly string[];
  readonly threshold: number;
  readonly paths?: readonly string[];
  readonly terminating?: boolean;
}

export interface TufMetadata {
  readonly type: TufRoleType;
  readonly specVersion?: string;
  readonly version: number;
  /** Epoch ms; undefined when `expires` is missing or not ISO 8601 UTC. */
  readonly expires?: number;
  /** Root `keys` or targets `delegations.keys`, by declared keyid. */
  readonly keys: ReadonlyMap<string, TufKey>;
  /** Root `roles`: who may sign each top-level role. */
  readonly roles: readonly TufRoleSpec[];
  /** Targets `delegations.roles`. */
  readonly delegations: readonly TufRoleSpec[];
  readonly targetsCount: number;
  /**
   * Uptane repository, from targets `custom`: ECU identifiers are the director's assignment,
   * hardware ids alone the image repository's catalogue.
   */
  readonly uptane?: 'director' | 'image';
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
  /** The canonical JSON bytes of `signed`: what every signature covers. */
  readonly signedBytes: Buffer;
}

const TYPES: readonly string[] = ['root', 'targets', 'snapshot', 'timestamp'];

function bad(message: string): never {
  throw new CoreError('TUF_MALFORMED', message);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Cheap content test: a JSON object whose `signed._type` names a TUF role. */
export function isTufMetadata(buf: Uint8Array): boolean {
  if (buf.length > TUF_LIMITS.maxBytes || buf.length < 2) return false;
  const head = Buffer.from(buf.subarray(0, 4096)).toString('utf8');
  return /^\s*\{/.test(head) && head.includes('"signed"') && head.includes('"_type"');
}

function parseKey(declaredKeyId: string, raw: unknown): TufKey {
  if (!isObject(raw) || !isObject(raw['keyval'])) bad(`key ${declaredKeyId} has no keyval`);
  const keytype = typeof raw['keytype'] === 'string' ? raw['keytype'] : 'unknown';
  const scheme = typeof raw['scheme'] === 'string' ? raw['scheme'] : 'unknown';
  const spki = tufKeySpki(raw as { keytype?: unknown; keyval?: { public?: unknown } });
  let info: { algorithm?: string; size?: number; curve?: string; keyId?: string } = {};
  if (spki) {
    try {
      info = parseSpki(spki, readOne(spki));
    } catch {
      // The PEM was readable to node but not to our SPKI parser: keep the key, without details.
    }
  }
  return {
    declaredKeyId,
    ...(spki && { keyId: createHash('sha256').update(spki).digest('hex'), spki }),
    computedKeyId: tufKeyId(raw),
    keytype,
    scheme,
    ...(info.algorithm !== undefined && { algorithm: info.algorithm }),
    ...(info.size !== undefined && { size: info.size }),
    ...(info.curve !== undefined && { curve: info.curve }),
  };
}

function parseKeys(raw: unknown, where: string): Map<string, TufKey> {
  const keys = new Map<string, TufKey>();
  if (raw === undefined) return keys;
  if (!isObject(raw)) bad(`${where} keys is not an object`);
  const ids = Object.keys(raw);
  if (ids.length > TUF_COUNT_LIMITS.maxKeys) bad(`${where} lists ${ids.length} keys`);
  for (const id of ids) keys.set(id, parseKey(id, raw[id]));
  return keys;
}

function parseRoleSpec(name: string, raw: unknown): TufRoleSpec {
  if (!isObject(raw)) bad(`role ${name} is not an object`);
  const keyIds = raw['keyids'];
  const threshold = raw['threshold'];
  if (!Array.isArray(keyIds) || !keyIds.every((k) => typeof k === 'string')) bad(`role ${name} keyids`);
  if (!Number.isSafeInteger(threshold) || (threshold as number) < 1) bad(`role ${name} threshold`);
  const paths = raw['paths'] ?? raw['path_hash_prefixes'];
  return {
    name,
    keyIds: keyIds as string[],
    threshold: threshold as number,
    ...(Array.isArray(paths) && { paths: paths.filter((p): p is string => typeof p === 'string') }),
    ...(typeof raw['terminating'] === 'boolean' && { terminating: raw['terminating'] }),
  };
}

/** TUF writes expiry as ISO 8601 in UTC with a Z and whole seconds. */
function parseExpires(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Read one TUF or Uptane metadata file. Throws CoreError 'TUF_MALFORMED' naming what is wrong. */
export function parseTufMetadata(input: Uint8Array): TufMetadata {
  if (input.length > TUF_LIMITS.maxBytes) bad(`metadata of ${input.length} bytes exceeds the limit`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(input).toString('utf8'));
  } catch (e) {
    bad(`not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc) || !isObject(doc['signed'])) bad('no signed object');
  if (!Array.isArray(doc['signatures'])) bad('no signatures array');
  const signed = doc['signed'];
  const type = signed['_type'];
  if (typeof type !== 'string' || !TYPES.includes(type)) bad(`_type ${String(type)} is not a TUF role`);
  const version = signed['version'];
  if (!Number.isSafeInteger(version)) bad('version is not an integer');
  const rawSigs = doc['signatures'];
  if (rawSigs.length > TUF_COUNT_LIMITS.maxSignatures) bad(`${rawSigs.length} signatures`);
  const signatures = rawSigs.map((s, i) => {
    if (!isObject(s) || typeof s['keyid'] !== 'string' || typeof s['sig'] !== 'string')
      bad(`signature ${i} lacks keyid or sig`);
    return { keyid: s['keyid'], sig: s['sig'] };
  });
  let signedBytes: Buffer;
  try {
    signedBytes = Buffer.from(canonicalJson(signed), 'utf8');
  } catch (e) {
    bad(`signed cannot be canonicalised: ${(e as Error).message}`);
  }
  const roles: TufRoleSpec[] = [];
  let keys = new Map<string, TufKey>();
  const delegations: TufRoleSpec[] = [];
  if (type === 'root') {
    keys = parseKeys(signed['keys'], 'root');
    const rawRoles = signed['roles'];
    if (!isObject(rawRoles)) bad('root has no roles');
    const names = Object.keys(rawRoles);
    if (names.length > TUF_COUNT_LIMITS.maxRoles) bad(`root lists ${names.length} roles`);
    for (const n of names) roles.push(parseRoleSpec(n, rawRoles[n]));
  }
  let targetsCount = 0;
  let uptane: 'director' | 'image' | undefined;
  if (type === 'targets') {
    const targets = signed['targets'];
    if (!isObject(targets)) bad('targets has no targets object');
    const paths = Object.keys(targets);
    targetsCount = paths.length;
    for (const p of paths) {
      const t = targets[p];
      const custom = isObject(t) ? t['custom'] : undefined;
      if (!isObject(custom)) continue;
      if ('ecu_identifier' in custom || 'ecuIdentifiers' in custom) uptane = 'director';
      else if (!uptane && ('hardwareId' in custom || 'hardwareIds' in custom)) uptane = 'image';
    }
    const dl = signed['delegations'];
    if (dl !== undefined) {
      if (!isObject(dl) || !Array.isArray(dl['roles'])) bad('delegations without roles');
      keys = parseKeys(dl['keys'], 'delegations');
      if (dl['roles'].length > TUF_COUNT_LIMITS.maxRoles) bad(`${dl['roles'].length} delegated roles`);
      for (const r of dl['roles'] as unknown[]) {
        const name =
          isObject(r) && typeof r['name'] === 'string' ? r['name'] : bad('delegation without name');
        delegations.push(parseRoleSpec(name, r));
      }
    }
  }
  const expires = parseExpires(signed['expires']);
  return {
    type: type as TufRoleType,
    ...(typeof signed['spec_version'] === 'string' && { specVersion: signed['spec_version'] }),
    version: version as number,
    ...(expires !== undefined && { expires }),
    keys,
    roles,
    delegations,
    targetsCount,
    ...(uptane && { uptane }),
    signatures,
    signedBytes,
  };
}

// Salt equals the digest length: what securesystemslib signs with (it verifies with any salt).
const pss = (hash: string, saltLength: number): SignatureAlgorithm => ({
  oid: '1.2.840.113549.1.1.10',
  name: 'RSASSA-PSS',
  pss: { hash, mgf: 'mgf1', mgfHash: hash, saltLength, trailerField: 1 },
});

/** TUF scheme names → the signature algorithm verifySignature takes. */
const TUF_SCHEMES: Record<string, SignatureAlgorithm | string> = {
  ed25519: '1.3.101.112',
  'ecdsa-sha2-nistp256': '1.2.840.10045.4.3.2',
  'ecdsa-sha2-nistp384': '1.2.840.10045.4.3.3',
  'rsassa-pss-sha256': pss('sha256', 32),
  'rsassa-pss-sha384': pss('sha384', 48),
  'rsassa-pss-sha512': pss('sha512', 64),
  'rsa-pkcs1v15-sha256': '1.2.840.113549.1.1.11',
  'rsa-pkcs1v15-sha384': '1.2.840.113549.1.1.12',
  'rsa-pkcs1v15-sha512': '1.2.840.113549.1.1.13',
};

/** The keys allowed to sign a role and how many must: from root, or from a delegating targets file. */
export interface TufAuthority {
  readonly keys: ReadonlyMap<string, TufKey>;
  readonly role: TufRoleSpec;
}

/** Who `parent` says may sign `roleName` (a top-level role in root, or a delegated role). */
export function tufAuthority(parent: TufMetadata, roleName: string): TufAuthority | undefined {
  const spec = [...parent.roles, ...parent.delegations].find((r) => r.name === roleName);
  return spec && { keys: parent.keys, role: spec };
}

export interface TufSignatureCheck {
  readonly declaredKeyId: string;
  readonly keyId?: string;
  readonly status: Verification;
  readonly reason?: string;
}

export interface TufCheck {
  readonly signatures: readonly TufSignatureCheck[];
  /** Distinct authorised keys with a valid signature, against the threshold; 'unknown' without authority. */
  readonly thresholdMet: boolean | 'unknown';
  readonly validKeys: number;
  readonly threshold?: number;
}

/**
 * Check each signature with the key the authority files under its keyid, and count distinct keys
 * the role authorises whose signature holds. Root is its own authority; other roles need theirs
 * from another file, so without it every signature stays unverified and the threshold unknown.
 */
export function checkTufSignatures(meta: TufMetadata, authority?: TufAuthority): TufCheck {
  const auth = authority ?? (meta.type === 'root' ? tufAuthority(meta, 'root') : undefined);
  const valid = new Set<string>();
  const signatures = meta.signatures.map((s): TufSignatureCheck => {
    const key = auth?.keys.get(s.keyid);
    const base = { declaredKeyId: s.keyid, ...(key?.keyId && { keyId: key.keyId }) };
    if (!auth) return { ...base, status: 'unverified', reason: 'signing keys are listed in another file' };
    if (!key) return { ...base, status: 'unverified', reason: 'keyid not among the known keys' };
    const alg = TUF_SCHEMES[key.scheme];
    if (!alg || !key.spki)
      return { ...base, status: 'unverified', reason: `scheme ${key.scheme} not supported` };
    if (!/^([0-9a-fA-F]{2})*$/.test(s.sig)) return { ...base, status: 'invalid', reason: 'sig is not hex' };
    try {
      const ok = verifySignature(key.spki, alg, meta.signedBytes, Buffer.from(s.sig, 'hex'));
      if (!ok)
        return { ...base, status: 'invalid', reason: 'signature does not verify over canonical signed' };
    } catch (e) {
      return { ...base, status: 'unverified', reason: (e as Error).message };
    }
    // Distinct keys, not keyids: one key filed under two keyids must not count twice.
    if (auth.role.keyIds.includes(s.keyid)) valid.add(key.keyId ?? s.keyid);
    else return { ...base, status: 'valid', reason: `key not authorised for role ${auth.role.name}` };
    return { ...base, status: 'valid' };
  });
  return {
    signatures,
    thresholdMet: auth ? valid.size >= auth.role.threshold : 'unknown',
    validKeys: valid.size,
    ...(auth && { threshold: auth.role.threshold }),
  };
}

import { parseSpki } from '../algorithm.ts';
import { children, readOne, Tag, type Tlv } from '../der.ts';
import { CoreError } from '../error.ts';
import type { Encoding, Observation } from '../observation.ts';
import { parseDsaPrivateKey } from './dsa.ts';
import { toKeyInfo } from './key-info.ts';
import { parseOpenSshPrivateKey } from './openssh.ts';
import { parseRsaPrivateKey, parseRsaPublicKey } from './pkcs1.ts';
import { parseEncryptedPrivateKeyInfo, parsePrivateKeyInfo } from './pkcs8.ts';
import { parseEcPrivateKey } from './sec1.ts';
import type { KeyFinding } from './types.ts';

/**
 * Which key structure a DER buffer holds, decided by its shape rather than by a file name or PEM
 * label (labels lie: PKCS#8 bodies under 'RSA PRIVATE KEY' are common). Each parser answers
 * undefined for a shape that is not its own and throws CoreError for its own shape gone wrong.
 */

type Parser = (der: Uint8Array, top: Tlv, kids: Tlv[], trusted: boolean) => KeyFinding | undefined;

function parseSpkiKey(der: Uint8Array, top: Tlv, kids: Tlv[]): KeyFinding | undefined {
  const [algT, keyT, extra] = kids;
  if (algT?.tag !== Tag.SEQUENCE || keyT?.tag !== Tag.BIT_STRING || extra) return undefined;
  return { type: 'public-key', format: 'spki', key: toKeyInfo(parseSpki(der, top)) };
}

// The shapes are disjoint, so order only matters for cost: the cheap, unambiguous tests come first
// and the loosest shape (RSAPublicKey, two INTEGERs) comes last.
const STRUCTURES: readonly (readonly [string, Parser])[] = [
  ['spki', parseSpkiKey],
  ['encrypted-pkcs8', (der, _top, kids, trusted) => parseEncryptedPrivateKeyInfo(der, kids, trusted)],
  ['pkcs8', parsePrivateKeyInfo],
  ['sec1', parseEcPrivateKey],
  ['pkcs1', parseRsaPrivateKey],
  ['openssl-dsa', (der, _top, kids) => parseDsaPrivateKey(der, kids)],
  ['pkcs1-public', parseRsaPublicKey],
];

/** Every key structure is a SEQUENCE of at most five elements; ten is room to spare. */
const MAX_TOP_LEVEL = 10;

type Classified = { structure: string; finding: KeyFinding } | { structure: string; error: string };

/** `trusted`: the container already says this is a key, so loose shapes need no plausibility test. */
function classify(der: Uint8Array, trusted: boolean): Classified | undefined {
  let top: Tlv;
  let kids: Tlv[];
  try {
    top = readOne(der);
    if (top.tag !== Tag.SEQUENCE) return undefined;
    kids = children(der, top, MAX_TOP_LEVEL);
  } catch (e) {
    if (e instanceof CoreError) return undefined;
    throw e;
  }
  for (const [structure, parse] of STRUCTURES) {
    try {
      const finding = parse(der, top, kids, trusted);
      if (finding) return { structure, finding };
    } catch (e) {
      if (e instanceof CoreError) return { structure, error: e.message };
      throw e;
    }
  }
  return undefined;
}

function unparseable(offset: number, encoding: Encoding, format: string, reason: string): Observation {
  return { type: 'unparseable', offset, encoding, format, reason };
}

function located(c: Classified, offset: number, encoding: Encoding, format: string): Observation {
  return 'finding' in c ? { ...c.finding, offset, encoding } : unparseable(offset, encoding, format, c.error);
}

/**
 * Classify one DER element (the whole buffer) as a key. undefined: not a key structure at all. A
 * structure that is unmistakably a key but does not decode comes back as 'unparseable'.
 */
export function classifyKeyDer(der: Uint8Array, offset: number, encoding: Encoding): Observation | undefined {
  const c = classify(der, false);
  return c && located(c, offset, encoding, `${encoding}:${c.structure}`);
}

export const KEY_PEM_LABELS: readonly string[] = [
  'PUBLIC KEY',
  'RSA PUBLIC KEY',
  'PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
  'DSA PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'OPENSSH PRIVATE KEY',
];

/** Traditional OpenSSL labels: what the algorithm is, and the format its plaintext would have. */
const LEGACY_LABELS: ReadonlyMap<string, { algorithm: string; format: string }> = new Map([
  ['RSA PRIVATE KEY', { algorithm: 'RSA', format: 'pkcs1' }],
  ['EC PRIVATE KEY', { algorithm: 'EC', format: 'sec1' }],
  ['DSA PRIVATE KEY', { algorithm: 'DSA', format: 'openssl-dsa' }],
  ['PRIVATE KEY', { algorithm: 'unknown', format: 'pkcs8' }],
]);

function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * RFC 1421 encryption as OpenSSL writes it (Proc-Type: 4,ENCRYPTED + DEK-Info: AES-256-CBC,<iv>).
 * The body is ciphertext: the label is all we know about the algorithm, and there is no key identity.
 */
function legacyEncrypted(
  legacy: { algorithm: string; format: string },
  headers: Readonly<Record<string, string>>,
  offset: number,
): Observation {
  const cipher = header(headers, 'DEK-Info')?.split(',')[0]?.trim();
  return {
    type: 'private-key',
    offset,
    encoding: 'pem',
    format: legacy.format,
    key: { algorithm: legacy.algorithm },
    encrypted: true,
    ...(cipher && { cipher }),
  };
}

/**
 * A key from one PEM block (see findPemBlocks). undefined when the label is not a key label. Never
 * throws for bad content: a key label over a body we cannot read becomes 'unparseable', because the
 * inventory should still show that a key-shaped thing exists there.
 */
export function keyFromPem(
  label: string,
  der: Uint8Array,
  headers: Readonly<Record<string, string>>,
  offset: number,
): Observation | undefined {
  if (!KEY_PEM_LABELS.includes(label)) return undefined;
  const format = `pem:${label}`;
  const legacy = LEGACY_LABELS.get(label);
  if (legacy && /ENCRYPTED/i.test(header(headers, 'Proc-Type') ?? ''))
    return legacyEncrypted(legacy, headers, offset);
  if (der.length === 0) return unparseable(offset, 'pem', format, 'empty PEM body');
  if (label === 'OPENSSH PRIVATE KEY') {
    try {
      return parseOpenSshPrivateKey(der, offset, 'pem');
    } catch (e) {
      if (e instanceof CoreError) return unparseable(offset, 'pem', format, e.message);
      throw e;
    }
  }
  const c = classify(der, true);
  return c ? located(c, offset, 'pem', format) : unparseable(offset, 'pem', format, `body is not a ${label}`);
}

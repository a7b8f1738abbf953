import type { JsonWebKey } from 'node:crypto';
import { CoreError } from '../error.ts';
import type { KeyInfo, Observation } from '../observation.ts';
import { keyInfoFromJwk } from './key-info.ts';

/**
 * JSON Web Keys (RFC 7517/7518/8037) anywhere in a JSON document: a bare JWK, a JWKS, or keys nested
 * in configuration. The identity comes from the public members alone, so the private member 'd' is
 * never handed to anything, and a private JWK gets the same keyId as its certificate.
 */

/** Which members make up the public key for each kty (a Map: kty is input, 'valueOf' included). */
const PUBLIC_MEMBERS: ReadonlyMap<string, readonly string[]> = new Map([
  ['RSA', ['n', 'e']],
  ['EC', ['crv', 'x', 'y']],
  ['OKP', ['crv', 'x']],
]);

const OKP_CURVES = new Set(['Ed25519', 'Ed448', 'X25519', 'X448']);

/** Bounds for the tree walk: JSON.parse accepts any depth, our traversal should not. */
const MAX_DEPTH = 64;
const MAX_NODES = 1_000_000;

class JwkProblem extends Error {}

function publicJwk(jwk: Record<string, unknown>): JsonWebKey {
  const kty = jwk['kty'] as string;
  const members = PUBLIC_MEMBERS.get(kty);
  if (!members) throw new JwkProblem(`unsupported kty "${kty.slice(0, 32)}"`);
  const pub: Record<string, string> = { kty };
  for (const m of members) {
    const v = jwk[m];
    if (typeof v !== 'string' || v === '') throw new JwkProblem(`${kty} key without a string "${m}" member`);
    if (m !== 'crv' && !/^[A-Za-z0-9_-]+$/.test(v)) throw new JwkProblem(`"${m}" is not base64url`);
    pub[m] = v;
  }
  if (kty === 'OKP' && !OKP_CURVES.has(pub['crv']!)) throw new JwkProblem(`unsupported OKP curve`);
  return pub;
}

function keyOf(jwk: Record<string, unknown>): KeyInfo {
  try {
    return keyInfoFromJwk(publicJwk(jwk), 'JWK_MALFORMED', `${String(jwk['kty'])} JWK`);
  } catch (e) {
    if (e instanceof CoreError) throw new JwkProblem(e.message);
    throw e;
  }
}

/** Objects with a string "kty", in document order as far as JSON.parse preserves it. */
function collectJwks(root: unknown): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const stack: { v: unknown; depth: number }[] = [{ v: root, depth: 0 }];
  let visited = 0;
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (++visited > MAX_NODES) break; // a huge document of plain data: stop looking, do not fail
    if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) continue;
    const values = Array.isArray(v) ? (v as unknown[]) : Object.values(v as Record<string, unknown>);
    if (!Array.isArray(v) && typeof (v as Record<string, unknown>)['kty'] === 'string') {
      found.push(v as Record<string, unknown>);
      continue; // a JWK's members ("oth", "x5c") hold no further keys
    }
    for (let i = values.length - 1; i >= 0; i--) stack.push({ v: values[i], depth: depth + 1 });
  }
  return found;
}

/**
 * Where a key sits in the text: the first occurrence of its modulus or x coordinate after the previous
 * key. Approximate (JSON.parse forgets positions) but stable, and it never looks at private members.
 */
function locate(text: string, jwk: Record<string, unknown>, from: number): number {
  const anchor = jwk['n'] ?? jwk['x'];
  if (typeof anchor !== 'string' || anchor === '') return -1;
  const at = text.indexOf(anchor, from);
  return at !== -1 ? at : text.indexOf(anchor);
}

/** Character index to byte offset, walking forward from the last answer (keys come mostly in order). */
function byteOffsets(text: string, base: number): (at: number) => number {
  let lastChar = 0;
  let lastByte = base;
  return (at) => {
    if (at < lastChar) [lastChar, lastByte] = [0, base];
    lastByte += Buffer.byteLength(text.slice(lastChar, at), 'utf8');
    lastChar = at;
    return lastByte;
  };
}

/**
 * Every JWK in a JSON buffer. Invalid JSON throws JWK_MALFORMED; a key-like object that is not a
 * usable key becomes 'unparseable' with the reason, so a broken entry in a JWKS is still visible.
 */
export function findJwks(json: Buffer, offset = 0): Observation[] {
  let text = json.toString('utf8');
  const bom = text.charCodeAt(0) === 0xfeff;
  if (bom) text = text.slice(1);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    throw new CoreError('JWK_MALFORMED', 'not valid JSON');
  }
  const out: Observation[] = [];
  const byteAt = byteOffsets(text, offset + (bom ? 3 : 0));
  let cursor = 0;
  for (const jwk of collectJwks(root)) {
    const at = locate(text, jwk, cursor);
    if (at !== -1) cursor = at + 1;
    const where = at === -1 ? offset : byteAt(at);
    try {
      const key = keyOf(jwk);
      out.push(
        Object.hasOwn(jwk, 'd')
          ? { type: 'private-key', offset: where, encoding: 'json', format: 'jwk', key, encrypted: false }
          : { type: 'public-key', offset: where, encoding: 'json', format: 'jwk', key },
      );
    } catch (e) {
      if (!(e instanceof JwkProblem)) throw e;
      out.push({ type: 'unparseable', offset: where, encoding: 'json', format: 'jwk', reason: e.message });
    }
  }
  return out;
}

import { EvidenceError } from './error.ts';

/** Deep enough for any statement we define; deeper input is refused rather than recursed into. */
const MAX_DEPTH = 64;

/**
 * RFC 8785 JSON Canonicalization Scheme. ECMAScript number serialisation and JSON string escaping are
 * exactly what the RFC prescribes, so the work left is ordering keys by UTF-16 code units and refusing
 * what JSON cannot carry (non-finite numbers, lone surrogates, undefined, functions, bigints).
 */
export function canonicalize(value: unknown): string {
  return encode(value, 0);
}

function encode(v: unknown, depth: number): string {
  if (depth > MAX_DEPTH)
    throw new EvidenceError('BAD_ARGUMENT', `canonical JSON deeper than ${MAX_DEPTH} levels`);
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v))
        throw new EvidenceError('BAD_ARGUMENT', `canonical JSON cannot hold the number ${v}`);
      return JSON.stringify(v);
    case 'string':
      return encodeString(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x) => encode(x, depth + 1)).join(',')}]`;
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null)
        throw new EvidenceError(
          'BAD_ARGUMENT',
          'canonical JSON holds plain objects, arrays and primitives only',
        );
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      // Default sort compares UTF-16 code units, which is the order RFC 8785 §3.2.3 asks for.
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, x]) => `${encodeString(k)}:${encode(x, depth + 1)}`).join(',')}}`;
    }
    default:
      throw new EvidenceError('BAD_ARGUMENT', `canonical JSON cannot hold a ${typeof v}`);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function encodeString(s: string): string {
  if (LONE_SURROGATE.test(s))
    throw new EvidenceError('BAD_ARGUMENT', 'canonical JSON strings must not hold lone surrogates');
  return JSON.stringify(s);
}

/** Parses JSON text and confirms it is already in canonical form (what the log stores). */
export function parseCanonical(text: string, what: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new EvidenceError('LOG_CORRUPT', `${what} is not JSON`, { cause: err });
  }
  let again: string;
  try {
    again = canonicalize(v);
  } catch (err) {
    throw new EvidenceError('LOG_CORRUPT', `${what} cannot be canonicalised`, { cause: err });
  }
  if (again !== text)
    throw new EvidenceError('LOG_CORRUPT', `${what} is JSON but not in RFC 8785 canonical form`);
  return v;
}

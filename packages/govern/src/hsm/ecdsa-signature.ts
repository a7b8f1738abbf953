import { GovernError } from '../error.ts';

/**
 * CKM_ECDSA returns r||s, each half the curve's octet length; X.509, CMS and most verifiers want the
 * X9.62 DER SEQUENCE { r INTEGER, s INTEGER }. Both directions, for signatures made and checked here.
 */

function derInteger(half: Uint8Array): Buffer {
  let s = 0;
  while (s < half.length - 1 && half[s] === 0) s++;
  const v = half.subarray(s);
  const body = v[0]! >= 0x80 ? Buffer.concat([Uint8Array.of(0), v]) : Buffer.from(v);
  return Buffer.concat([Uint8Array.of(0x02, body.length), body]);
}

export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0 || raw.length > 132)
    throw new GovernError('HSM_OPERATION', `ECDSA signature of ${raw.length} bytes is not r||s`);
  const n = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, n)), derInteger(raw.subarray(n))]);
  // The longest body (P-521) is 2 * (2 + 67) = 138 octets: one long-form length octet at most.
  const len = body.length < 0x80 ? Uint8Array.of(body.length) : Uint8Array.of(0x81, body.length);
  return Buffer.concat([Uint8Array.of(0x30), len, body]);
}

/**
 * The few DER encodings the key readers need to assemble a SubjectPublicKeyInfo from parts found in
 * other containers (PKCS#8 v2 publicKey, OpenSSL DSA keys, SSH DSA keys). Only public values pass
 * through here: the key identity is defined over SPKI bytes, so we build SPKI and nothing else.
 */

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Uint8Array.of(0x80 | octets.length, ...octets);
}

/** One TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const content = Buffer.concat(parts);
  return Buffer.concat([Uint8Array.of(tag), encodeLength(content.length), content]);
}

export function sequence(...parts: Uint8Array[]): Buffer {
  return tlv(0x30, ...parts);
}

/**
 * INTEGER from big-endian two's-complement bytes (an SSH mpint or a DER INTEGER's content). Redundant
 * leading zero octets are dropped so the result is the one DER encoding OpenSSL would also produce.
 */
export function integer(bytes: Uint8Array): Buffer {
  let s = 0;
  while (s < bytes.length - 1 && bytes[s] === 0 && bytes[s + 1]! < 0x80) s++;
  return tlv(0x02, bytes.length === 0 ? Uint8Array.of(0) : bytes.subarray(s));
}

/** BIT STRING with no unused bits, the only kind a public key uses. */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(0x03, Uint8Array.of(0), bytes);
}

export function objectIdentifier(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined) throw new RangeError(`OID needs two arcs: ${oid}`);
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const groups: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Uint8Array.from(out));
}

import type { DistinguishedName, NameAttribute } from '@keywarden/core';

/**
 * RFC 5280 §7.1 asks for RFC 4518 string preparation; the parts that matter in practice are case
 * folding and insignificant-space handling, so that is what we do: trim, collapse runs of white
 * space to one space, lower-case. Full Unicode normalisation is deliberately left out.
 */
export function foldValue(v: string): string {
  return v.trim().replace(/\s+/g, ' ').toLowerCase();
}

function attrKey(a: NameAttribute): string {
  return `${a.oid}=${foldValue(a.value)}`;
}

/** One RDN as a canonical string: attribute order inside a multi-valued RDN does not matter. */
export function rdnKey(rdn: readonly NameAttribute[]): string {
  if (rdn.length === 1) return attrKey(rdn[0]!);
  return rdn.map(attrKey).sort().join('+');
}

// The parser shares one frozen DistinguishedName among certificates with the same name bytes, so a
// leaf's issuer key is computed once per issuer, not once per leaf and comparison.
const keys = new WeakMap<DistinguishedName, string>();

/** Equal keys ⇔ the names match under our §7.1 comparison; usable as a Map key. */
export function nameKey(dn: DistinguishedName): string {
  let out = keys.get(dn);
  if (out !== undefined) return out;
  out = '';
  for (let i = 0; i < dn.rdns.length; i++) out += (i ? '\u0000' : '') + rdnKey(dn.rdns[i]!);
  keys.set(dn, out);
  return out;
}

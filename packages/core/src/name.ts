import {
  children,
  head,
  readHead,
  readOid,
  readOidAt,
  readString,
  readStringAt,
  seq,
  STRING_TYPES,
  Tag,
  type Tlv,
} from './der.ts';
import { malformed } from './error.ts';
import { ATTRIBUTE_NAMES } from './oid.ts';

export interface NameAttribute {
  readonly oid: string;
  /** Short name (CN, O, ...) or the dotted OID when we have none. */
  readonly type: string;
  readonly value: string;
  /** ASN.1 string type as encoded (PrintableString, UTF8String, ...). */
  readonly stringType: string;
}

export interface DistinguishedName {
  /** RDNs in encoding order (most significant first); an inner array holds a multi-valued RDN. */
  readonly rdns: NameAttribute[][];
  /** RFC 4514 string: least significant RDN first, multi-valued RDNs joined by '+'. */
  readonly text: string;
}

export function parseName(buf: Uint8Array, t: Tlv | undefined): DistinguishedName {
  if (t?.tag === Tag.SEQUENCE) {
    const fast = parseNameFast(buf, t);
    if (fast !== undefined) return fast;
  }
  return parseNameChecked(buf, t);
}

// A call, so TypeScript does not carry a narrowed head.tag across the readHead calls that change it.
const tagOf = (h: { readonly tag: number }): number => h.tag;

/**
 * The common case in one pass without intermediate arrays. It gives up (undefined) on anything
 * parseNameChecked would reject, and then parseNameChecked runs and throws its usual error.
 */
function parseNameFast(buf: Uint8Array, t: Tlv): DistinguishedName | undefined {
  try {
    const rdns: NameAttribute[][] = [];
    const end = t.end;
    let pos = t.start;
    while (pos < end) {
      if (rdns.length >= 100_000) return undefined;
      // readHead fills one shared scratch record, so every field is copied out before the next read.
      if (!readHead(buf, pos, end) || tagOf(head) !== Tag.SET || head.start === head.end) return undefined;
      const setEnd = head.end;
      let p = head.start;
      pos = setEnd;
      const rdn: NameAttribute[] = [];
      while (p < setEnd) {
        if (rdn.length >= 100_000) return undefined;
        if (!readHead(buf, p, setEnd) || tagOf(head) !== Tag.SEQUENCE || head.start === head.end)
          return undefined;
        const atvEnd = head.end;
        const typeHs = head.start;
        p = atvEnd;
        if (!readHead(buf, typeHs, atvEnd) || tagOf(head) !== Tag.OID || head.end === atvEnd)
          return undefined;
        const oid = readOidAt(buf, typeHs, head.start, head.end);
        const valueHs = head.end;
        if (!readHead(buf, valueHs, atvEnd) || head.end !== atvEnd) return undefined;
        const tag = tagOf(head);
        rdn.push({
          oid,
          type: ATTRIBUTE_NAMES[oid] ?? oid,
          value: readStringAt(buf, tag, valueHs, head.start, atvEnd),
          stringType: STRING_TYPES[tag] ?? `tag-0x${tag.toString(16)}`,
        });
      }
      rdns.push(rdn);
    }
    return { rdns, text: nameText(rdns) };
  } catch {
    return undefined; // parseNameChecked decides, with its own error
  }
}

function attribute(buf: Uint8Array, typeT: Tlv, valueT: Tlv): NameAttribute {
  const oid = readOid(buf, typeT);
  return {
    oid,
    type: ATTRIBUTE_NAMES[oid] ?? oid,
    value: readString(buf, valueT),
    stringType: STRING_TYPES[valueT.tag] ?? `tag-0x${valueT.tag.toString(16)}`,
  };
}

function parseNameChecked(buf: Uint8Array, t: Tlv | undefined): DistinguishedName {
  const rdns: NameAttribute[][] = [];
  for (const set of seq(buf, t, 'Name')) {
    const atvs = seq(buf, set, 'RelativeDistinguishedName', Tag.SET);
    if (atvs.length === 0) malformed(`empty RDN at offset ${set.hs}`);
    const rdn: NameAttribute[] = [];
    for (const atv of atvs) {
      const [typeT, valueT, extra] = seq(buf, atv, 'AttributeTypeAndValue');
      if (!typeT || !valueT || extra) malformed(`bad AttributeTypeAndValue at offset ${atv.hs}`);
      rdn.push(attribute(buf, typeT, valueT));
    }
    rdns.push(rdn);
  }
  return { rdns, text: nameText(rdns) };
}

// Anything RFC 4514 escapes: specials and control characters anywhere, '#' or ' ' first, ' ' last.
// A character loop rather than a regular expression: it runs on every attribute of every name.
function needsEscape(v: string): boolean {
  const n = v.length;
  if (n === 0) return false;
  const first = v.charCodeAt(0);
  if (first === 0x20 || first === 0x23 || v.charCodeAt(n - 1) === 0x20) return true;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x5c || c === 0x2c || c === 0x2b || c === 0x22) return true;
    if (c === 0x3c || c === 0x3e || c === 0x3b || c === 0x3d) return true;
  }
  return false;
}

function escapeValue(a: NameAttribute): string {
  const v = a.value;
  // A non-string type's value is readString's '#' + hex, which RFC 4514 writes unescaped. Decide by
  // type, not by look: a string that happens to read '#ab' must be escaped.
  if (a.stringType.startsWith('tag-')) return v;
  if (!needsEscape(v)) return v;
  let s = v
    .replace(/[\\,+"<>;=]/g, (c) => '\\' + c)
    .replace(/[\x00-\x1f]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
  if (s.startsWith(' ') || s.startsWith('#')) s = '\\' + s;
  // Test the value, not `s`: a lone space is already escaped above and must not be escaped twice.
  if (v.endsWith(' ') && v.length > 1) s = s.slice(0, -1) + '\\ ';
  return s;
}

export function nameText(rdns: readonly NameAttribute[][]): string {
  let out = '';
  for (let i = rdns.length - 1; i >= 0; i--) {
    const rdn = rdns[i]!;
    if (i !== rdns.length - 1) out += ',';
    for (let j = 0; j < rdn.length; j++) {
      const a = rdn[j]!;
      if (j !== 0) out += '+';
      out += a.type + '=' + escapeValue(a);
    }
  }
  return out;
}

/** The first value of an attribute, e.g. the CN, for display. */
export function nameAttr(name: DistinguishedName, type: string): string | undefined {
  for (const rdn of name.rdns) for (const a of rdn) if (a.type === type || a.oid === type) return a.value;
  return undefined;
}

/** Names as children of an explicit container, e.g. directoryName [4]. */
export function parseExplicitName(buf: Uint8Array, t: Tlv): DistinguishedName {
  const [inner, extra] = children(buf, t);
  if (extra) malformed(`extra element after Name at offset ${t.hs}`);
  return parseName(buf, inner);
}

import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * CycloneDX XML (1.0-1.7) turned into the JSON object model, so one reader serves both encodings.
 * The XSD and the JSON schema mirror each other: attributes become properties, a plural wrapper
 * of repeated elements becomes an array. Where they part (bare repeated elements that JSON holds as
 * arrays, renamed fields, typed scalars, ref lists), the tables below say so, taken from the 1.6
 * XSD and JSON schema. Elements of other namespaces (extensions) have no JSON form and are dropped.
 */

export const MAX_XML_BYTES = 32 * 1024 * 1024;
const MAX_DEPTH = 64;
/** Checked on the text before parsing: every element opens with one '<' not followed by '/'. */
const MAX_NODES = 1_000_000;
const CDX_NS = /^http:\/\/cyclonedx\.org\/schema\/bom\/1\.([0-7])$/;

/** Wrappers whose items are not named as the wrapper without its plural ending: tag@parent or tag. */
const ITEM_OF: Readonly<Record<string, string>> = {
  externalReferences: 'reference',
  'references@vulnerability': 'reference',
  'references@issue': 'url',
  'source@dataflow': 'url',
  'destination@dataflow': 'url',
  'evidence@declarations': 'evidence',
  'copyright@evidence': 'text',
  collection: 'graphic',
  runtimeTopology: 'dependency',
  tlsGroups: 'group',
  tlsSignatureSchemes: 'signatureScheme',
  taskDependencies: 'dependency',
  formulation: 'formula',
  ancestors: 'component',
  descendants: 'component',
  variants: 'component',
  resolves: 'issue',
  affects: 'target',
  supportingMaterial: 'attachment',
  energyProviders: 'energyProvider',
};
/** JSON arrays the XSD writes as wrappers: an empty wrapper is still an (empty) array. */
const LISTS = new Set([
  'components',
  'services',
  'dependencies',
  'hashes',
  'properties',
  'externalReferences',
  'licenses',
  'authors',
  'lifecycles',
  'cryptoFunctions',
  'cipherSuites',
  'algorithms',
  'identifiers',
  'compositions',
  'assemblies',
  'vulnerabilities',
  'annotations',
  'subjects',
  'endpoints',
  'tags',
  'aliases',
  'ancestors',
  'descendants',
  'variants',
  'commits',
  'patches',
  'resolves',
  'occurrences',
  'frames',
  'methods',
  'ratings',
  'cwes',
  'advisories',
  'affects',
  'versions',
  'responses',
  'notes',
  'organizations',
  'individuals',
  ...Object.keys(ITEM_OF).map((k) => k.replace(/@.*/, '')),
]);
/** tag@parent of a wrapper whose items are `<x ref="..."/>`, which JSON lists as bare strings. */
const REF_LISTS = new Set([
  'assemblies@composition',
  'dependencies@composition',
  'vulnerabilities@composition',
  'subjects@annotation',
  'tools@identity',
]);
/** Elements the XSD lets repeat bare (no wrapper) that JSON always holds as an array: tag@parent. */
const ALWAYS_ARRAY = new Set([
  'certificationLevel@algorithmProperties',
  'cryptoRefArray@protocolProperties',
  ...['supplier', 'manufacturer', 'manufacture', 'provider', 'organization'].flatMap((p) => [
    `url@${p}`,
    `contact@${p}`,
  ]),
  ...['encr', 'prf', 'integ', 'ke', 'auth'].map((t) => `${t}@ikev2TransformTypes`),
  'evidence@claim',
  'counterEvidence@claim',
  'swhid@component',
  'omniborId@component',
  'openCre@requirement',
  'map@attestation',
  'certificateState@certificateProperties',
  'energyProviders@energyConsumption',
]);
/** XML names whose JSON name differs: tag@parent, or the tag (attribute) alone. */
const RENAMED: Readonly<Record<string, string>> = {
  'cryptoRef@protocolProperties': 'cryptoRefArray',
  'responses@analysis': 'response',
  'content-type': 'contentType',
};
/** attachedTextType elements (and every `attachment`): always an object, the text as `content`. */
const ATTACHMENTS = new Set(['text@license', 'text@swid', 'text@diff', 'text@note', 'image@graphic']);
const BOOLEAN = new Set([
  'authenticated',
  'x-trust-boundary',
  'esn',
  'modified',
  'persistent',
  'remote',
  'thirdParty',
]);
/** Numbers in the JSON schema that XML carries as text: tag, or tag@parent where the name is shared. */
const NUMERIC = new Set([
  'size',
  'classicalSecurityLevel',
  'nistQuantumSecurityLevel',
  'line',
  'column',
  'offset',
  'tagVersion',
  'score',
  'confidence',
  'cwe@cwes',
  'keyLength',
  'group@ke',
  'version@bom',
]);
/** XML Signature has no JSON form (JSON uses JSF), so it is left out rather than mistranslated. */
const DROPPED = new Set(['Signature']);

type Node = Record<string, unknown>;
export type XmlBomResult = { ok: true; json: Record<string, unknown> } | { ok: false; reason: string };

/** Cheap content test: the root element is `bom` in a CycloneDX namespace. */
export function looksLikeCyclonedxXml(buf: Buffer): boolean {
  const head = buf.toString('latin1', 0, Math.min(buf.length, 4096));
  return /<(?:[\w.-]+:)?bom\b[^>]*xmlns(?::[\w.-]+)?\s*=\s*["']http:\/\/cyclonedx\.org\/schema\/bom\/1\.[0-7]["']/.test(
    head,
  );
}

class Refused extends Error {}

/** The document in the JSON model, or why it is refused. Never throws. */
export function cyclonedxXmlToJson(buf: Buffer): XmlBomResult {
  if (buf.length > MAX_XML_BYTES)
    return { ok: false, reason: `CycloneDX XML larger than ${MAX_XML_BYTES} bytes` };
  const text = buf.toString('utf8');
  // Entities are the XML bomb and XXE vector; a BOM has no use for a DTD, so any DTD is refused.
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    return { ok: false, reason: 'CycloneDX XML with a DTD (DOCTYPE/ENTITY) refused' };
  let lt = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1))
    if (text.charCodeAt(i + 1) !== 0x2f && ++lt > MAX_NODES)
      return { ok: false, reason: `CycloneDX XML has more than ${MAX_NODES} elements` };
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    return {
      ok: false,
      reason: `CycloneDX XML is not well-formed: ${valid.err.msg} (line ${valid.err.line})`,
    };
  let tree: unknown[];
  try {
    const parser = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: '',
      removeNSPrefix: false,
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      processEntities: false,
      htmlEntities: false,
      maxNestedTags: MAX_DEPTH,
      // Kept apart so character data is not entity-decoded like ordinary text.
      cdataPropName: '#cdata',
    });
    tree = parser.parse(text) as unknown[];
  } catch (err) {
    return { ok: false, reason: `CycloneDX XML could not be parsed: ${(err as Error).message}` };
  }
  const rootTag = tree
    .map((n) => tagOf(n as Node))
    .find((t) => t !== undefined && !t.startsWith('?') && !t.startsWith('#'));
  const root = tree.find((n) => tagOf(n as Node) === rootTag) as Node | undefined;
  const prefix = rootTag?.includes(':') ? rootTag.slice(0, rootTag.indexOf(':')) : '';
  if (!root || rootTag !== (prefix ? `${prefix}:bom` : 'bom'))
    return { ok: false, reason: 'CycloneDX XML has no bom root element' };
  const ns = ((root[':@'] ?? {}) as Record<string, string>)[prefix ? `xmlns:${prefix}` : 'xmlns'];
  const version = ns === undefined ? null : CDX_NS.exec(ns);
  if (!version) return { ok: false, reason: 'bom root is not in a CycloneDX 1.0-1.7 namespace' };
  try {
    const json = new Converter(prefix).element(rootTag, 'bom', root, 0, '') as Record<string, unknown>;
    return { ok: true, json: { bomFormat: 'CycloneDX', specVersion: `1.${version[1]}`, ...json } };
  } catch (err) {
    const why =
      err instanceof Refused ? err.message : `CycloneDX XML not converted: ${(err as Error).message}`;
    return { ok: false, reason: why };
  }
}

function tagOf(n: Node): string | undefined {
  return Object.keys(n).find((k) => k !== ':@');
}

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * The five predefined entities and character references, decoded here because the parser's own
 * entity processing also honours DTD-declared ones. A reference to anything else stays as written.
 */
function decode(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED[ref] ?? whole;
    const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    const legal =
      cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && (cp >= 0x20 || [9, 10, 13].includes(cp));
    return legal ? String.fromCodePoint(cp) : whole;
  });
}

function scalar(tag: string, value: string, parent: string): unknown {
  if (BOOLEAN.has(tag) && (value === 'true' || value === 'false')) return value === 'true';
  if (NUMERIC.has(tag) || NUMERIC.has(`${tag}@${parent}`)) {
    const n = value.trim() === '' ? NaN : Number(value);
    if (Number.isFinite(n)) return n;
  }
  return value;
}

interface Child {
  readonly tag: string;
  readonly raw: string;
  readonly node: Node;
}

class Converter {
  constructor(private readonly prefix: string) {}

  /** The local name of a CycloneDX element; undefined for text, comments and other namespaces. */
  private local(raw: string): string | undefined {
    if (raw.startsWith('#') || raw.startsWith('?')) return undefined;
    const i = raw.indexOf(':');
    if (i === -1) return this.prefix === '' ? raw : undefined;
    return raw.slice(0, i) === this.prefix ? raw.slice(i + 1) : undefined;
  }

  private kids(n: Node, raw: string): Child[] {
    const c = n[raw];
    if (!Array.isArray(c)) return [];
    const out: Child[] = [];
    for (const k of c as Node[]) {
      const r = tagOf(k);
      const tag = r === undefined ? undefined : this.local(r);
      if (tag !== undefined && !DROPPED.has(tag)) out.push({ tag, raw: r!, node: k });
    }
    return out;
  }

  private text(n: Node, raw: string): string {
    const c = n[raw];
    if (!Array.isArray(c)) return '';
    const plain = (k: Node): string => (typeof k['#text'] === 'string' ? k['#text'] : '');
    return (c as Node[])
      .map((k) =>
        Array.isArray(k['#cdata']) ? (k['#cdata'] as Node[]).map(plain).join('') : decode(plain(k)),
      )
      .join('');
  }

  private attrs(n: Node): [string, string][] {
    // Namespace declarations and attributes of other namespaces (xsi:schemaLocation) are not data.
    return Object.entries((n[':@'] ?? {}) as Record<string, string>)
      .filter(([k]) => k !== 'xmlns' && !k.includes(':'))
      .map(([k, v]) => [RENAMED[k] ?? k, decode(v)]);
  }

  /** One element as its JSON value. Depth is capped by the parser; this check backs it up. */
  element(raw: string, tag: string, n: Node, depth: number, parent: string): unknown {
    if (depth > MAX_DEPTH) throw new Refused(`CycloneDX XML nested deeper than ${MAX_DEPTH}`);
    const attrs = this.attrs(n);
    const kids = this.kids(n, raw);
    const text = this.text(n, raw);
    const where = `${tag}@${parent}`;
    const sub = (k: Child, p = tag): unknown => this.element(k.raw, k.tag, k.node, depth + 1, p);
    if (ATTACHMENTS.has(where) || (tag === 'attachment' && kids.length === 0)) {
      const out: Record<string, unknown> = Object.fromEntries(attrs);
      if (text) out.content = text;
      return out;
    }
    if (tag === 'licenses') {
      // JSON wraps each choice: [{ license: {...} }] or [{ expression: '...', ...its attributes }].
      return kids.map((k) => {
        if (k.tag !== 'expression') return { [k.tag]: sub(k) };
        return { expression: this.text(k.node, k.raw), ...Object.fromEntries(this.attrs(k.node)) };
      });
    }
    if (REF_LISTS.has(where))
      return kids.map((k) => Object.fromEntries(this.attrs(k.node)).ref ?? this.text(k.node, k.raw));
    if (tag === 'data' && parent === 'service') return kids.map((k) => this.dataflow(k, depth + 1));
    if (kids.length === 0 && attrs.length === 0)
      return LISTS.has(tag) && text === '' ? [] : scalar(tag, text, parent);
    if (kids.length === 0 && !LISTS.has(tag)) {
      // <hash alg="SHA-256">hex</hash> and the like carry their text as `content`; a property as `value`.
      const out: Record<string, unknown> = {};
      for (const [k, v] of attrs) out[k] = scalar(k, v, tag);
      if (text) out[tag === 'property' ? 'value' : 'content'] = text;
      return out;
    }
    if (LISTS.has(tag) || (tag.endsWith('s') && kids.length > 0)) {
      const item = ITEM_OF[where] ?? ITEM_OF[tag];
      const items = new Set(
        item !== undefined ? [item] : [tag.slice(0, -1), tag.replace(/es$/, ''), tag.replace(/ies$/, 'y')],
      );
      if (attrs.length === 0 && kids.every((k) => items.has(k.tag)))
        return where === 'copyright@evidence' ? kids.map((k) => ({ text: sub(k) })) : kids.map((k) => sub(k));
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of attrs) out[k] = scalar(k, v, tag);
    const repeated = new Set<string>();
    for (const k of kids) {
      const name = RENAMED[`${k.tag}@${tag}`] ?? k.tag;
      const v = sub(k);
      if (tag === 'dependency' && (k.tag === 'dependency' || k.tag === 'provides')) {
        // XSD nests <dependency ref=/> and <provides ref=/>; JSON lists the refs.
        const list = k.tag === 'dependency' ? 'dependsOn' : 'provides';
        ((out[list] ??= []) as unknown[]).push((v as Node).ref);
      } else if (ALWAYS_ARRAY.has(`${name}@${tag}`)) {
        ((out[name] ??= []) as unknown[]).push(v);
      } else if (repeated.has(name)) {
        (out[name] as unknown[]).push(v);
      } else if (name in out) {
        out[name] = [out[name], v];
        repeated.add(name);
      } else {
        out[name] = v;
      }
    }
    if (text && kids.length === 0) out.content = text;
    return out;
  }

  /** Service data: 1.4's <classification flow=..>label</classification> or 1.5's <dataflow>. */
  private dataflow(k: Child, depth: number): unknown {
    if (k.tag === 'classification')
      return { ...Object.fromEntries(this.attrs(k.node)), classification: this.text(k.node, k.raw) };
    const v = this.element(k.raw, k.tag, k.node, depth, 'data') as Node;
    const c = v.classification as Node | undefined;
    if (c && typeof c === 'object' && !Array.isArray(c))
      return { ...v, classification: c.content, ...(c.flow !== undefined && { flow: c.flow }) };
    return v;
  }
}

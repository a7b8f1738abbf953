/**
 * RFC 5280 §6.1.3(b)(c) and §6.1.4(g): name constraints carried along a certification path.
 *
 * Every subtree form we handle (DNS, rfc822, URI host, IP prefix, directory name) describes a set
 * of names that is either nested in or disjoint from any other subtree of the same form, so the
 * intersection of two permitted lists is the pairwise "keep the narrower of two nested subtrees".
 */
import type { Certificate, GeneralName, GeneralNameType, NameConstraints } from '@keywarden/core';
import { foldValue } from './name-key.ts';
import type { PathError } from './types.ts';

/** Bound on subtrees carried in one state; past it every name is refused rather than guessed at. */
export const MAX_SUBTREES = 1024;

type Form = 'dns' | 'email' | 'uri' | 'ip' | 'directoryName';
const FORMS: ReadonlySet<GeneralNameType> = new Set<Form>(['dns', 'email', 'uri', 'ip', 'directoryName']);

export interface NameConstraintState {
  /** Per form: absent = unrestricted; present and empty = no name of that form is allowed. */
  readonly permitted: ReadonlyMap<GeneralNameType, readonly GeneralName[]>;
  readonly excluded: readonly GeneralName[];
  /** Forms a critical extension constrained that we cannot evaluate: any such name is refused. */
  readonly unprocessable: ReadonlyMap<GeneralNameType, 'permitted' | 'excluded'>;
  readonly overflow: boolean;
}

export function initialNameState(): NameConstraintState {
  return { permitted: new Map(), excluded: [], unprocessable: new Map(), overflow: false };
}

// ---- host-shaped forms: dNSName, rfc822Name host, URI host ----

/** tree: the host and everything below it; exact: only the host; below: strictly below it. */
type HostMode = 'tree' | 'exact' | 'below';
interface HostSet {
  readonly labels: readonly string[]; // most significant last, as written
  readonly mode: HostMode;
}

function labelsOf(host: string): string[] {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === '' ? [] : h.split('.');
}

function hostSet(c: string, plainMode: HostMode): HostSet {
  if (c.startsWith('.')) return { labels: labelsOf(c.slice(1)), mode: 'below' };
  const labels = labelsOf(c);
  // An empty constraint names the whole tree whatever the form.
  return { labels, mode: labels.length === 0 ? 'tree' : plainMode };
}

function endsWith(name: readonly string[], suffix: readonly string[]): boolean {
  if (suffix.length > name.length) return false;
  const off = name.length - suffix.length;
  for (let i = 0; i < suffix.length; i++) if (name[off + i] !== suffix[i]) return false;
  return true;
}

function hostIn(name: readonly string[], s: HostSet): boolean {
  if (!endsWith(name, s.labels)) return false;
  if (s.mode === 'exact') return name.length === s.labels.length;
  if (s.mode === 'below') return name.length > s.labels.length;
  return true;
}

function hostSetWithin(a: HostSet, b: HostSet): boolean {
  if (!endsWith(a.labels, b.labels)) return false;
  if (b.mode === 'tree') return true;
  if (b.mode === 'exact') return a.mode === 'exact' && a.labels.length === b.labels.length;
  return a.labels.length > b.labels.length || a.mode === 'below';
}

// ---- rfc822Name ----

interface MailSet {
  readonly local?: string;
  readonly host: HostSet;
}

function mailSet(c: string): MailSet {
  const at = c.lastIndexOf('@');
  if (at < 0) return { host: hostSet(c, 'exact') };
  return { local: c.slice(0, at), host: { labels: labelsOf(c.slice(at + 1)), mode: 'exact' } };
}

function mailboxIn(addr: string, s: MailSet): boolean {
  const at = addr.lastIndexOf('@');
  if (at < 0) return false; // not a mailbox: cannot be shown to be inside any subtree
  // The local part is case-sensitive (RFC 5280 §4.2.1.10 follows RFC 5321), the host is not.
  if (s.local !== undefined && addr.slice(0, at) !== s.local) return false;
  return hostIn(labelsOf(addr.slice(at + 1)), s.host);
}

function mailSetWithin(a: MailSet, b: MailSet): boolean {
  if (b.local !== undefined) return a.local === b.local && hostSetWithin(a.host, b.host);
  return hostSetWithin(a.host, b.host);
}

// ---- URI ----

/** The host of an absolute URI with an authority; undefined when there is none or it is an IP literal. */
export function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(uri);
  if (!m) return undefined;
  let auth = m[1]!;
  const at = auth.lastIndexOf('@');
  if (at >= 0) auth = auth.slice(at + 1);
  if (auth.startsWith('[')) return undefined;
  const host = auth.replace(/:\d*$/, '');
  if (host === '' || /^\d+\.\d+\.\d+\.\d+$/.test(host)) return undefined;
  return host;
}

// ---- iPAddress ----

interface IpSet {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export function ipBytes(text: string): Uint8Array | undefined {
  if (text.includes('.')) {
    const parts = text.split('.');
    if (parts.length !== 4) return undefined;
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      if (!/^\d{1,3}$/.test(parts[i]!)) return undefined;
      const n = Number(parts[i]);
      if (n > 255) return undefined;
      out[i] = n;
    }
    return out;
  }
  if (!text.includes(':')) return undefined;
  let groups: string[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    const head = text.slice(0, dbl) ? text.slice(0, dbl).split(':') : [];
    const tail = text.slice(dbl + 2) ? text.slice(dbl + 2).split(':') : [];
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  } else groups = text.split(':');
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,4}$/i.test(groups[i]!)) return undefined;
    const n = parseInt(groups[i]!, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  return out;
}

/** core gives a constraint as address/prefix; a wrong-length one comes as hex and gives undefined. */
function ipSet(c: string): IpSet | undefined {
  const slash = c.indexOf('/');
  if (slash < 0) return undefined;
  const bytes = ipBytes(c.slice(0, slash));
  const prefix = Number(c.slice(slash + 1));
  if (!bytes || !Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) return undefined;
  return { bytes, prefix };
}

function prefixMatch(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

function ipIn(addr: string, s: IpSet | undefined): boolean {
  const b = ipBytes(addr);
  return s !== undefined && b !== undefined && prefixMatch(b, s.bytes, s.prefix);
}

function ipSetWithin(a: IpSet | undefined, b: IpSet | undefined): boolean {
  if (!a || !b) return false;
  return a.prefix >= b.prefix && prefixMatch(a.bytes, b.bytes, b.prefix);
}

// ---- directoryName ----

/** RDNs most significant first; each RDN a sorted list of `type=folded value`. */
type Rdns = readonly string[];

/** Reads core's RFC 4514 text back into RDNs (it is the only form GeneralName keeps). */
export function parseDnText(text: string): Rdns | undefined {
  const rdns: string[][] = [[]];
  let cur = '';
  const flush = (): boolean => {
    const eq = cur.indexOf('=');
    if (eq <= 0) return false;
    rdns[rdns.length - 1]!.push(
      `${cur.slice(0, eq)}=${foldValue(unescapeDn(cur.slice(eq + 1)) ?? '\u0000')}`,
    );
    cur = '';
    return true;
  };
  if (text === '') return [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      cur += text.slice(i, i + 2);
      i++;
    } else if (ch === ',' || ch === '+') {
      if (!flush()) return undefined;
      if (ch === ',') rdns.push([]);
    } else cur += ch;
  }
  if (!flush()) return undefined;
  return rdns.map((r) => r.sort().join('+')).reverse();
}

function unescapeDn(v: string): string | undefined {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== '\\') {
      out += v[i];
      continue;
    }
    const hx = v.slice(i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(hx)) {
      out += String.fromCharCode(parseInt(hx, 16));
      i += 2;
    } else if (i + 1 < v.length) out += v[++i];
    else return undefined;
  }
  return out;
}

function subjectRdns(cert: Certificate): Rdns {
  return cert.subject.rdns.map((rdn) =>
    rdn
      .map((a) => `${a.type}=${foldValue(a.value)}`)
      .sort()
      .join('+'),
  );
}

function dnWithin(name: Rdns | undefined, base: Rdns | undefined): boolean {
  if (!name || !base || base.length > name.length) return false;
  for (let i = 0; i < base.length; i++) if (name[i] !== base[i]) return false;
  return true;
}

// ---- dispatch per form ----

/** Is the name (a certificate's name of the same form) inside the subtree `base`? */
export function nameInSubtree(name: GeneralName, base: GeneralName, dn?: Rdns): boolean {
  switch (base.type) {
    case 'dns':
      return hostIn(labelsOf(name.value), hostSet(base.value, 'tree'));
    case 'email':
      return mailboxIn(name.value, mailSet(base.value));
    case 'uri': {
      const host = uriHost(name.value);
      return host !== undefined && hostIn(labelsOf(host), hostSet(base.value, 'exact'));
    }
    case 'ip':
      return ipIn(name.value, ipSet(base.value));
    case 'directoryName':
      return dnWithin(dn ?? parseDnText(name.value), parseDnText(base.value));
    default:
      return false;
  }
}

/** Is every name in subtree `a` also in subtree `b` (same form)? */
function subtreeWithin(a: GeneralName, b: GeneralName): boolean {
  switch (b.type) {
    case 'dns':
      return hostSetWithin(hostSet(a.value, 'tree'), hostSet(b.value, 'tree'));
    case 'email':
      return mailSetWithin(mailSet(a.value), mailSet(b.value));
    case 'uri':
      return hostSetWithin(hostSet(a.value, 'exact'), hostSet(b.value, 'exact'));
    case 'ip':
      return ipSetWithin(ipSet(a.value), ipSet(b.value));
    case 'directoryName':
      return dnWithin(parseDnText(a.value), parseDnText(b.value));
    default:
      return false;
  }
}

function intersect(old: readonly GeneralName[], add: readonly GeneralName[]): GeneralName[] {
  const out: GeneralName[] = [];
  for (const a of old)
    for (const b of add) {
      if (subtreeWithin(a, b)) out.push(a);
      else if (subtreeWithin(b, a)) out.push(b);
    }
  return dedupe(out);
}

function dedupe(names: readonly GeneralName[]): GeneralName[] {
  const seen = new Set<string>();
  return names.filter((n) => {
    const k = `${n.type}\u0000${n.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * §6.1.4(g): permitted subtrees intersect per name form, excluded subtrees union. `critical` is the
 * extension's flag: a critical constraint on a form we cannot evaluate (otherName, x400Address,
 * ediPartyName, registeredID) makes every later name of that form unacceptable (§4.2.1.10); a
 * non-critical one is ignored. RFC 5280 requires the extension to be critical, hence the default.
 */
export function applyNameConstraints(
  s: NameConstraintState,
  nc: NameConstraints,
  critical = true,
): NameConstraintState {
  const unprocessable = new Map(s.unprocessable);
  const byForm = new Map<GeneralNameType, GeneralName[]>();
  for (const st of nc.permitted) {
    const t = st.base.type;
    if (!FORMS.has(t)) {
      if (critical && !unprocessable.has(t)) unprocessable.set(t, 'permitted');
      continue;
    }
    let list = byForm.get(t);
    if (!list) byForm.set(t, (list = []));
    list.push(st.base);
  }
  const excluded = [...s.excluded];
  for (const st of nc.excluded) {
    const t = st.base.type;
    if (!FORMS.has(t)) {
      if (critical) unprocessable.set(t, 'excluded');
      continue;
    }
    excluded.push(st.base);
  }
  const permitted = new Map(s.permitted);
  for (const [t, list] of byForm) {
    const old = permitted.get(t);
    permitted.set(t, old === undefined ? dedupe(list) : intersect(old, list));
  }
  const excl = dedupe(excluded);
  let total = excl.length;
  for (const l of permitted.values()) total += l.length;
  return { permitted, excluded: excl, unprocessable, overflow: s.overflow || total > MAX_SUBTREES };
}

function nameText(n: GeneralName): string {
  return `${n.type}:${n.value}`;
}

function checkOne(s: NameConstraintState, n: GeneralName, errors: PathError[], dn?: Rdns): void {
  const why = s.unprocessable.get(n.type);
  if (why !== undefined) {
    errors.push({
      rule: `name-constraints.${why}`,
      index: -1,
      message: `${n.type} names are constrained by a critical nameConstraints extension this validator cannot evaluate`,
    });
    return;
  }
  const allowed = s.permitted.get(n.type);
  if (allowed !== undefined && !allowed.some((b) => nameInSubtree(n, b, dn))) {
    errors.push({
      rule: 'name-constraints.permitted',
      index: -1,
      message:
        allowed.length === 0
          ? `${nameText(n)}: no ${n.type} name is permitted on this path`
          : `${nameText(n)} is outside the permitted subtrees`,
    });
  }
  const hit = s.excluded.find((b) => b.type === n.type && nameInSubtree(n, b, dn));
  if (hit) {
    errors.push({
      rule: 'name-constraints.excluded',
      index: -1,
      message: `${nameText(n)} is inside the excluded subtree ${nameText(hit)}`,
    });
  }
}

const EMAIL_ATTR = '1.2.840.113549.1.9.1';

/**
 * §6.1.3(b)(c): the subject DN, emailAddress attributes of the subject DN (as rfc822Name), and every
 * subjectAltName against the state. Errors carry index -1: the caller knows the position.
 */
export function checkNames(s: NameConstraintState, cert: Certificate): PathError[] {
  const errors: PathError[] = [];
  if (s.overflow) {
    errors.push({
      rule: 'name-constraints.permitted',
      index: -1,
      message: `more than ${MAX_SUBTREES} name-constraint subtrees on this path; refusing to evaluate`,
    });
    return errors;
  }
  if (cert.subject.rdns.length > 0) {
    checkOne(s, { type: 'directoryName', value: cert.subject.text }, errors, subjectRdns(cert));
    for (const rdn of cert.subject.rdns)
      for (const a of rdn) if (a.oid === EMAIL_ATTR) checkOne(s, { type: 'email', value: a.value }, errors);
  }
  for (const n of cert.subjectAltNames ?? []) checkOne(s, n, errors);
  return errors;
}

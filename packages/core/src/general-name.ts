import { children, hex, latin1, readOid, readString, type Tlv } from './der.ts';
import { malformed } from './error.ts';
import { parseExplicitName } from './name.ts';

export type GeneralNameType =
  | 'otherName'
  | 'email'
  | 'dns'
  | 'x400Address'
  | 'directoryName'
  | 'ediPartyName'
  | 'uri'
  | 'ip'
  | 'registeredId';

export interface GeneralName {
  readonly type: GeneralNameType;
  /** Text form: the string, the dotted IP (with /prefix in name constraints), the DN, or hex. */
  readonly value: string;
  /** otherName type-id (e.g. 1.3.6.1.5.5.7.8.4 hardwareModuleName). */
  readonly oid?: string;
}

const TYPES: GeneralNameType[] = [
  'otherName',
  'email',
  'dns',
  'x400Address',
  'directoryName',
  'ediPartyName',
  'uri',
  'ip',
  'registeredId',
];

export function parseGeneralName(buf: Uint8Array, t: Tlv): GeneralName {
  if ((t.tag & 0xc0) !== 0x80) malformed(`GeneralName with non-context tag at offset ${t.hs}`);
  const n = t.tag & 0x1f;
  const type = TYPES[n];
  if (!type) return malformed(`GeneralName tag [${n}] at offset ${t.hs}`);
  switch (n) {
    case 0: {
      const [oidT, valT] = children(buf, t);
      if (!oidT) return malformed(`empty otherName at offset ${t.hs}`);
      const oid = readOid(buf, oidT);
      // value is [0] EXPLICIT ANY: show strings as text, anything else as hex.
      const inner = valT && valT.tag & 0x20 ? children(buf, valT)[0] : undefined;
      return { type, oid, value: inner ? readString(buf, inner) : '' };
    }
    case 1:
    case 2:
    case 6:
      return { type, value: latin1(buf, t.start, t.end) };
    case 4:
      return { type, value: parseExplicitName(buf, t).text };
    case 7:
      return { type, value: formatIp(buf, t.start, t.end) };
    case 8:
      return { type, value: readOid(buf, { tag: 0x06, hs: t.hs, start: t.start, end: t.end }) };
    default:
      return { type, value: hex(buf, t.start, t.end) };
  }
}

export function parseGeneralNames(buf: Uint8Array, t: Tlv): GeneralName[] {
  return children(buf, t).map((c) => parseGeneralName(buf, c));
}

function ipv4(buf: Uint8Array, s: number): string {
  return `${buf[s]}.${buf[s + 1]}.${buf[s + 2]}.${buf[s + 3]}`;
}

function ipv6(buf: Uint8Array, s: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((buf[s + i]! << 8) | buf[s + i + 1]!).toString(16));
  return groups.join(':');
}

function prefixLength(buf: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let i = s; i < e; i++) n += popcount(buf[i]!);
  return n;
}

function popcount(b: number): number {
  let n = 0;
  for (let v = b; v; v &= v - 1) n++;
  return n;
}

/** 4/16 octets are an address; 8/32 octets (name constraints) are address plus mask, shown as CIDR. */
export function formatIp(buf: Uint8Array, s: number, e: number): string {
  switch (e - s) {
    case 4:
      return ipv4(buf, s);
    case 16:
      return ipv6(buf, s);
    case 8:
      return `${ipv4(buf, s)}/${prefixLength(buf, s + 4, e)}`;
    case 32:
      return `${ipv6(buf, s)}/${prefixLength(buf, s + 16, e)}`;
    default:
      return hex(buf, s, e);
  }
}

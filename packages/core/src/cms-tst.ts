import { parseAlgorithmIdentifier } from './algorithm.ts';
import {
  children,
  hex,
  readBoolean,
  readIntegerHex,
  readOid,
  readOne,
  readSmallInt,
  readTime,
  seq,
  Tag,
  type Tlv,
} from './der.ts';
import { malformed } from './error.ts';
import { parseExtensions, type Extension } from './extensions.ts';
import { parseGeneralName, type GeneralName } from './general-name.ts';
import { HASH_ALGORITHMS } from './oid.ts';

/**
 * RFC 3161 §2.4.2 TSTInfo, the eContent of a time-stamp token (eContentType id-ct-TSTInfo):
 *
 *   TSTInfo ::= SEQUENCE { version INTEGER, policy OID, messageImprint SEQUENCE { hashAlgorithm
 *       AlgorithmIdentifier, hashedMessage OCTET STRING }, serialNumber INTEGER, genTime
 *       GeneralizedTime, accuracy SEQUENCE { seconds INTEGER OPT, millis [0] OPT, micros [1] OPT }
 *       OPT, ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPT, tsa [0] GeneralName OPT,
 *       extensions [1] IMPLICIT Extensions OPT }
 */

export const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';

export interface TstInfo {
  readonly version: number;
  readonly policy: string;
  /** Hash name as in oid.ts HASH_ALGORITHMS, else the OID. */
  readonly imprintAlgorithm: string;
  /** Lowercase hex of the hashed message. */
  readonly imprint: string;
  readonly serial: string;
  /** Epoch milliseconds. */
  readonly genTime: number;
  /** Accuracy in microseconds, when the TSA states one. */
  readonly accuracyMicros?: number;
  readonly ordering: boolean;
  readonly nonce?: string;
  readonly tsa?: GeneralName;
  readonly extensions?: Extension[];
}

export function parseTstInfo(buf: Uint8Array, start: number, end: number): TstInfo {
  const f = seq(buf, readOne(buf, start, end), 'TSTInfo');
  const [versionT, policyT, imprintT, serialT, timeT] = f;
  if (!versionT || !policyT || !imprintT || !serialT || !timeT)
    return malformed(`incomplete TSTInfo at offset ${start}`);
  const [algT, hashedT, extra] = seq(buf, imprintT, 'MessageImprint');
  if (!algT || hashedT?.tag !== Tag.OCTET_STRING || extra)
    malformed(`bad MessageImprint at offset ${imprintT.hs}`);
  const algOid = parseAlgorithmIdentifier(buf, algT).oid;
  if (serialT.tag !== Tag.INTEGER)
    malformed(`TSTInfo serialNumber is not an INTEGER at offset ${serialT.hs}`);
  if (timeT.tag !== Tag.GeneralizedTime)
    malformed(`TSTInfo genTime is not a GeneralizedTime at offset ${timeT.hs}`);
  const out: { -readonly [K in keyof TstInfo]: TstInfo[K] } = {
    version: readSmallInt(buf, versionT),
    policy: readOid(buf, policyT),
    imprintAlgorithm: HASH_ALGORITHMS[algOid] ?? algOid,
    imprint: hex(buf, hashedT.start, hashedT.end),
    serial: readIntegerHex(buf, serialT),
    genTime: readTime(buf, timeT),
    ordering: false,
  };
  // The optional fields in their fixed order; each may appear once, and only after the ones before it.
  let i = 5;
  const at = (tag: number): Tlv | undefined => (f[i]?.tag === tag ? f[i++] : undefined);
  const acc = at(Tag.SEQUENCE);
  if (acc) out.accuracyMicros = accuracy(buf, acc);
  const ord = at(Tag.BOOLEAN);
  if (ord) out.ordering = readBoolean(buf, ord);
  const nonce = at(Tag.INTEGER);
  if (nonce) out.nonce = readIntegerHex(buf, nonce);
  const tsa = at(0xa0);
  if (tsa) {
    const [name, more] = children(buf, tsa);
    if (!name || more) malformed(`tsa must hold one GeneralName at offset ${tsa.hs}`);
    out.tsa = parseGeneralName(buf, name);
  }
  const exts = at(0xa1);
  if (exts)
    out.extensions = parseExtensions(buf, {
      tag: Tag.SEQUENCE,
      hs: exts.hs,
      start: exts.start,
      end: exts.end,
    });
  if (i !== f.length) malformed(`unexpected field in TSTInfo at offset ${f[i]!.hs}`);
  return out;
}

function accuracy(buf: Uint8Array, t: Tlv): number {
  let micros = 0;
  let last = -1;
  for (const c of seq(buf, t, 'Accuracy')) {
    const rank = c.tag === Tag.INTEGER ? 0 : c.tag === 0x80 ? 1 : c.tag === 0x81 ? 2 : -1;
    if (rank <= last) malformed(`unexpected field in Accuracy at offset ${c.hs}`);
    last = rank;
    const v = readSmallInt(buf, { tag: Tag.INTEGER, hs: c.hs, start: c.start, end: c.end });
    micros += rank === 0 ? v * 1_000_000 : rank === 1 ? v * 1000 : v;
  }
  return micros;
}

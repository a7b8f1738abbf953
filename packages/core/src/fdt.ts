import { malformed } from './error.ts';

/**
 * A bounded reader of flattened device trees (devicetree specification v0.4, chapter 5): the blob
 * U-Boot uses for FIT images and for its control DTB. All offsets are absolute in the caller's
 * buffer so observations can point at the bytes; every length is checked against the blob before
 * it is followed, and depth and node counts are capped.
 */

export const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_LEN = 40;

/** The depth libfdt itself refuses beyond, so a tree we accept is one U-Boot could walk. */
export const FDT_MAX_DEPTH = 32;
const MAX_NODES = 100_000;
const MAX_PROPS = 400_000;
const MAX_NAME = 256;

export interface FdtProp {
  readonly name: string;
  /** Absolute offset of the FDT_PROP token. */
  readonly offset: number;
  /** The value bytes: buf[start, end). */
  readonly start: number;
  readonly end: number;
}

export interface FdtNode {
  readonly name: string;
  /** Full path, "/" for the root. */
  readonly path: string;
  /** Absolute offset of the FDT_BEGIN_NODE token. */
  readonly offset: number;
  readonly props: FdtProp[];
  readonly children: FdtNode[];
}

export interface Fdt {
  /** Absolute offset of the header (the magic). */
  readonly base: number;
  readonly totalSize: number;
  readonly offStruct: number;
  readonly sizeStruct: number;
  readonly offStrings: number;
  readonly sizeStrings: number;
  readonly version: number;
  readonly root: FdtNode;
}

const be32 = (b: Uint8Array, p: number): number =>
  ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

export function isFdt(buf: Uint8Array, base = 0): boolean {
  return base >= 0 && base + HEADER_LEN <= buf.length && be32(buf, base) === FDT_MAGIC;
}

/** A NUL-terminated name at `p`, no further than `limit`. */
function cString(buf: Uint8Array, p: number, limit: number, what: string): { text: string; end: number } {
  const stop = Math.min(limit, p + MAX_NAME + 1);
  for (let i = p; i < stop; i++)
    if (buf[i] === 0)
      return { text: Buffer.from(buf.buffer, buf.byteOffset + p, i - p).toString('latin1'), end: i };
  return malformed(`${what} at offset ${p} is not NUL-terminated within ${MAX_NAME} bytes`);
}

const align4 = (n: number): number => (n + 3) & ~3;

interface Header {
  base: number;
  totalSize: number;
  offStruct: number;
  sizeStruct: number;
  offStrings: number;
  sizeStrings: number;
  version: number;
}

function readHeader(buf: Uint8Array, base: number): Header {
  if (base < 0 || base + HEADER_LEN > buf.length)
    malformed(`FDT header at offset ${base} needs ${HEADER_LEN} bytes, ${buf.length - base} remain`);
  if (be32(buf, base) !== FDT_MAGIC) malformed(`no FDT magic at offset ${base}`);
  const field = (i: number): number => be32(buf, base + 4 * i);
  const h: Header = {
    base,
    totalSize: field(1),
    offStruct: field(2),
    offStrings: field(3),
    version: field(5),
    sizeStrings: field(8),
    sizeStruct: field(9),
  };
  // Version 17 is what dtc and mkimage write; 16 lacks size_dt_struct, which region hashing needs.
  if (h.version < 17) malformed(`FDT at offset ${base} has version ${h.version}, 17 or later is read`);
  if (field(6) > 17) malformed(`FDT at offset ${base} is only compatible with version ${field(6)}`);
  if (h.totalSize < HEADER_LEN || base + h.totalSize > buf.length)
    malformed(`FDT at offset ${base} declares ${h.totalSize} bytes, ${buf.length - base} are present`);
  if (h.offStruct % 4 || h.offStruct < HEADER_LEN || h.offStruct + h.sizeStruct > h.totalSize)
    malformed(`FDT at offset ${base}: struct block [${h.offStruct}, +${h.sizeStruct}) outside the blob`);
  if (h.offStrings + h.sizeStrings > h.totalSize)
    malformed(`FDT at offset ${base}: strings block [${h.offStrings}, +${h.sizeStrings}) outside the blob`);
  return h;
}

/** One token of the struct block; offsets relative to its start, as libfdt's fdt_next_tag has them. */
interface Token {
  readonly tag: number;
  readonly offset: number;
  readonly next: number;
  /** BEGIN_NODE: the node name; PROP: the property name. */
  readonly name?: string;
  readonly valueStart?: number;
  readonly valueEnd?: number;
}

class Tokens {
  private readonly s: number;
  private readonly strings: number;
  constructor(
    private readonly buf: Uint8Array,
    private readonly h: Header,
  ) {
    this.s = h.base + h.offStruct;
    this.strings = h.base + h.offStrings;
  }

  at(offset: number): Token {
    const { buf, h, s } = this;
    const abs = s + offset;
    if (offset + 4 > h.sizeStruct) malformed(`FDT token at offset ${abs} runs past the struct block`);
    const tag = be32(buf, abs);
    switch (tag) {
      case FDT_BEGIN_NODE: {
        const n = cString(buf, abs + 4, s + h.sizeStruct, 'FDT node name');
        return { tag, offset, next: align4(n.end + 1 - s), name: n.text };
      }
      case FDT_PROP: {
        if (offset + 12 > h.sizeStruct) malformed(`FDT property at offset ${abs} is truncated`);
        const len = be32(buf, abs + 4);
        const nameoff = be32(buf, abs + 8);
        if (len > h.sizeStruct - offset - 12)
          malformed(`FDT property at offset ${abs} declares ${len} value bytes past the struct block`);
        if (nameoff >= h.sizeStrings)
          malformed(`FDT property at offset ${abs} names string ${nameoff} outside the strings block`);
        const name = cString(buf, this.strings + nameoff, this.strings + h.sizeStrings, 'FDT property name');
        return {
          tag,
          offset,
          next: align4(offset + 12 + len),
          name: name.text,
          valueStart: abs + 12,
          valueEnd: abs + 12 + len,
        };
      }
      case FDT_END_NODE:
      case FDT_NOP:
      case FDT_END:
        return { tag, offset, next: offset + 4 };
      default:
        return malformed(`unknown FDT token 0x${tag.toString(16)} at offset ${abs}`);
    }
  }
}

/** Parse the device tree whose header is at `base`. CoreError (DER_MALFORMED) when it lies. */
export function parseFdt(buf: Uint8Array, base = 0): Fdt {
  const h = readHeader(buf, base);
  const tokens = new Tokens(buf, h);
  const abs = (o: number): number => base + h.offStruct + o;
  let pos = 0;
  let t = tokens.at(pos);
  while (t.tag === FDT_NOP) t = tokens.at((pos = t.next));
  if (t.tag !== FDT_BEGIN_NODE) malformed(`FDT struct block at offset ${abs(pos)} does not open a node`);
  const root: FdtNode = { name: '', path: '/', offset: abs(pos), props: [], children: [] };
  const stack: FdtNode[] = [root];
  let nodes = 1;
  let props = 0;
  pos = t.next;
  for (;;) {
    t = tokens.at(pos);
    const top = stack[stack.length - 1];
    if (t.tag === FDT_END) {
      if (top) malformed(`FDT_END at offset ${abs(pos)} inside node ${top.path}`);
      if (t.next !== h.sizeStruct)
        malformed(`FDT_END at offset ${abs(pos)} is not at the end of the struct block`);
      break;
    }
    if (t.tag === FDT_NOP) {
      pos = t.next;
      continue;
    }
    if (!top) malformed(`FDT token at offset ${abs(pos)} after the root node closed`);
    if (t.tag === FDT_BEGIN_NODE) {
      if (stack.length >= FDT_MAX_DEPTH)
        malformed(`FDT nesting deeper than ${FDT_MAX_DEPTH} at offset ${abs(pos)}`);
      if (++nodes > MAX_NODES) malformed(`more than ${MAX_NODES} FDT nodes at offset ${abs(pos)}`);
      const name = t.name ?? '';
      const node: FdtNode = {
        name,
        path: top.path === '/' ? `/${name}` : `${top.path}/${name}`,
        offset: abs(pos),
        props: [],
        children: [],
      };
      top.children.push(node);
      stack.push(node);
    } else if (t.tag === FDT_END_NODE) {
      stack.pop();
    } else {
      if (top.children.length > 0)
        malformed(`FDT property at offset ${abs(pos)} follows a subnode of ${top.path}`);
      if (++props > MAX_PROPS) malformed(`more than ${MAX_PROPS} FDT properties at offset ${abs(pos)}`);
      top.props.push({ name: t.name ?? '', offset: abs(pos), start: t.valueStart!, end: t.valueEnd! });
    }
    pos = t.next;
  }
  return { ...h, root };
}

export function fdtProp(node: FdtNode, name: string): FdtProp | undefined {
  return node.props.find((p) => p.name === name);
}

export function fdtChild(node: FdtNode, name: string): FdtNode | undefined {
  return node.children.find((c) => c.name === name);
}

/** A string property's text (the first string of a list), undefined when absent or not terminated. */
export function fdtString(buf: Uint8Array, node: FdtNode, name: string): string | undefined {
  return fdtStrings(buf, node, name)?.[0];
}

/** A string-list property ("a\0b\0"), undefined when absent or when the last string is unterminated. */
export function fdtStrings(buf: Uint8Array, node: FdtNode, name: string): string[] | undefined {
  const p = fdtProp(node, name);
  if (!p || p.end === p.start || buf[p.end - 1] !== 0) return undefined;
  return Buffer.from(buf.buffer, buf.byteOffset + p.start, p.end - p.start - 1)
    .toString('latin1')
    .split('\0');
}

/** A property of big-endian u32 cells. */
export function fdtCells(buf: Uint8Array, node: FdtNode, name: string): number[] | undefined {
  const p = fdtProp(node, name);
  if (!p || (p.end - p.start) % 4) return undefined;
  const out: number[] = [];
  for (let i = p.start; i < p.end; i += 4) out.push(be32(buf, i));
  return out;
}

export function fdtBytes(buf: Uint8Array, node: FdtNode, name: string): Uint8Array | undefined {
  const p = fdtProp(node, name);
  return p && buf.subarray(p.start, p.end);
}

/** A byte range, absolute in the buffer. */
export interface Region {
  readonly start: number;
  readonly end: number;
}

/**
 * The struct-block regions U-Boot hashes for a configuration signature (libfdt's fdt_find_regions as
 * U-Boot ships it): every node named in `include` with its properties (except `excludeProps`), the
 * BEGIN/END tokens of its subnodes down to grandchildren, the tokens that libfdt's walk happens to
 * let through around them, and the FDT_END token. The quirks are kept on purpose: the signed bytes
 * are whatever that walk selects, so any deviation breaks verification.
 */
export function fdtRegions(
  buf: Uint8Array,
  fdt: Fdt,
  include: readonly string[],
  excludeProps: readonly string[],
): Region[] {
  const tokens = new Tokens(buf, fdt);
  const inc = new Set(include);
  const exc = new Set(excludeProps);
  const base = fdt.base + fdt.offStruct;
  const out: Region[] = [];
  const stack: number[] = [];
  const path: string[] = [];
  let want = 0;
  let start = -1;
  let next = 0;
  let t: Token;
  let guard = 0;
  do {
    if (++guard > MAX_NODES * 2 + MAX_PROPS + 1) malformed(`FDT at offset ${fdt.base} has too many tokens`);
    const offset = next;
    t = tokens.at(offset);
    next = t.next;
    let stopAt = next;
    let include = false;
    switch (t.tag) {
      case FDT_PROP:
        include = want >= 2 && !exc.has(t.name ?? '');
        stopAt = offset;
        break;
      case FDT_NOP:
        include = want >= 2;
        stopAt = offset;
        break;
      case FDT_BEGIN_NODE: {
        if (stack.length >= FDT_MAX_DEPTH)
          malformed(`FDT nesting deeper than ${FDT_MAX_DEPTH} at offset ${base + offset}`);
        path.push(t.name ?? '');
        const p = path.length === 1 ? '/' : path.join('/');
        stack.push(want);
        if (want === 1) stopAt = offset;
        if (inc.has(p)) want = 2;
        else if (want) want--;
        else stopAt = offset;
        include = want > 0;
        break;
      }
      case FDT_END_NODE: {
        include = want > 0;
        const prev = stack.pop();
        if (prev === undefined) malformed(`unbalanced FDT_END_NODE at offset ${base + offset}`);
        want = prev;
        path.pop();
        break;
      }
      case FDT_END:
        include = true;
        break;
    }
    if (include && start === -1) start = offset;
    if (!include && start !== -1) {
      out.push({ start: base + start, end: base + stopAt });
      start = -1;
    }
  } while (t.tag !== FDT_END);
  if (next !== fdt.sizeStruct)
    malformed(`FDT_END at offset ${base + next - 4} is not at the end of the struct block`);
  out.push({ start: base + start, end: base + next });
  return out;
}

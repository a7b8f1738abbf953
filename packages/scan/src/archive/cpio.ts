import { decompress } from './decode.ts';
import { tooMany, refused, unparseable, type Member, type ReadContext } from './member.ts';
import { isCompression, sniffArchive } from './sniff.ts';

/**
 * cpio in the three ASCII formats: newc (070701), newc with checksum (070702, verified) and the old
 * portable odc (070707). Like the kernel's initramfs loader, reading goes on past a trailer when
 * more archives follow, plain or compressed (microcode first, then the real root file system), and
 * their members are all members of this one archive, as they all land in the same root.
 */

const NEWC = 110;
const ODC = 76;
const MAX_NAME = 4096;
const TRAILER = 'TRAILER!!!';

interface Header {
  readonly mode: number;
  readonly size: number;
  readonly nameSize: number;
  readonly check: number;
  readonly headerSize: number;
  /** newc pads header+name and data to 4 bytes, counted from the archive start; odc does not pad. */
  readonly align: number;
  readonly crc: boolean;
}

function number(buf: Buffer, start: number, length: number, radix: 8 | 16): number | undefined {
  const s = buf.toString('latin1', start, start + length);
  return (radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/).test(s) ? parseInt(s, radix) : undefined;
}

function header(buf: Buffer, pos: number): Header | string {
  const magic = buf.toString('latin1', pos, pos + 6);
  if (magic === '070701' || magic === '070702') {
    if (pos + NEWC > buf.length) return `truncated header at offset ${pos}`;
    const mode = number(buf, pos + 14, 8, 16);
    const size = number(buf, pos + 54, 8, 16);
    const nameSize = number(buf, pos + 94, 8, 16);
    const check = number(buf, pos + 102, 8, 16);
    if (mode === undefined || size === undefined || nameSize === undefined || check === undefined)
      return `invalid hexadecimal field in the header at offset ${pos}`;
    return { mode, size, nameSize, check, headerSize: NEWC, align: 4, crc: magic === '070702' };
  }
  if (magic === '070707') {
    if (pos + ODC > buf.length) return `truncated header at offset ${pos}`;
    const mode = number(buf, pos + 18, 6, 8);
    const nameSize = number(buf, pos + 59, 6, 8);
    const size = number(buf, pos + 65, 11, 8);
    if (mode === undefined || size === undefined || nameSize === undefined)
      return `invalid octal field in the header at offset ${pos}`;
    return { mode, size, nameSize, check: 0, headerSize: ODC, align: 1, crc: false };
  }
  return `no cpio header at offset ${pos}`;
}

const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;

export function* readCpio(buf: Buffer, ctx: ReadContext): Generator<Member> {
  let data = buf;
  let segStart = 0;
  let pos = 0;
  let count = 0;
  let segments = 1;
  while (pos < data.length) {
    const h = header(data, pos);
    if (typeof h === 'string') return yield unparseable(h);
    if (h.nameSize < 1 || h.nameSize > MAX_NAME + 1)
      return yield unparseable(`name of ${h.nameSize} bytes in the header at offset ${pos}`);
    const nameEnd = pos + h.headerSize + h.nameSize;
    if (nameEnd > data.length) return yield unparseable(`truncated name at offset ${pos + h.headerSize}`);
    const name = data.toString('utf8', pos + h.headerSize, nameEnd - 1).replace(/\0+$/, '');
    const start = segStart + alignUp(nameEnd - segStart, h.align);
    const end = start + h.size;
    if (end > data.length)
      return yield unparseable(
        `truncated: the member at offset ${pos} declares ${h.size} bytes, ${Math.max(0, data.length - start)} remain`,
        name,
      );
    pos = segStart + alignUp(end - segStart, h.align);
    if (name === TRAILER) {
      while (pos < data.length && data[pos] === 0) pos++;
      if (pos >= data.length) return;
      const next = sniffArchive(data.subarray(pos));
      if (next === 'cpio') {
        segStart = pos;
        continue;
      }
      if (next === undefined || !isCompression(next))
        return yield unparseable(
          `${data.length - pos} bytes after the trailer at offset ${pos} are not cpio`,
        );
      if (++segments > ctx.limits.maxDepth)
        return yield refused(`more than maxDepth ${ctx.limits.maxDepth} concatenated compressed segments`);
      const rest = data.subarray(pos);
      const cap = ctx.budget.cap(rest.length, false);
      const d = decompress(next, rest, cap.bytes);
      if (d.over) {
        ctx.budget.refused(cap);
        return yield refused(`${next} segment after the trailer at offset ${pos}: ${cap.reason}`);
      }
      ctx.budget.take(d.data.length);
      if (d.error !== undefined)
        yield unparseable(`${next} segment after the trailer at offset ${pos}: ${d.error}`);
      if (sniffArchive(d.data) !== 'cpio')
        return yield unparseable(`the ${next} segment after the trailer at offset ${pos} does not hold cpio`);
      data = d.data;
      segStart = 0;
      pos = 0;
      continue;
    }
    if (++count > ctx.limits.maxEntries) return yield tooMany(ctx.limits.maxEntries);
    // Directories, symbolic links (whose data is the target), devices, FIFOs: nothing to scan.
    if ((h.mode & 0o170000) !== 0o100000) continue;
    const body = data.subarray(start, end);
    if (h.crc) {
      let sum = 0;
      for (let i = 0; i < body.length; i++) sum = (sum + body[i]!) >>> 0;
      if (sum !== h.check) {
        yield unparseable(`checksum mismatch: recorded ${h.check}, computed ${sum}`, name);
        continue;
      }
    }
    yield { kind: 'file', name, data: body, mode: h.mode & 0o7777 };
  }
  yield unparseable(`no ${TRAILER} record: the archive ends at offset ${pos}, truncated`);
}

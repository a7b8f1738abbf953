import { tooMany, unparseable, type Member, type ReadContext } from './member.ts';

/**
 * Unix ar, as .deb packages and static libraries (.a) use it: 60-byte member headers, GNU long names
 * ('//' table, '/<offset>' references) and BSD ones ('#1/<length>', the name leading the data).
 * Symbol tables are skipped: they index code, they are not files.
 */

const HEADER = 60;
const MAX_NAME = 4096;

function field(buf: Buffer, start: number, length: number): string {
  return buf.toString('latin1', start, start + length).trimEnd();
}

function decimal(s: string): number | undefined {
  return /^\d{1,15}$/.test(s) ? Number(s) : undefined;
}

const SYMBOL_TABLES = new Set(['/', '/SYM64/', '__.SYMDEF', '__.SYMDEF SORTED', '__.SYMDEF_64']);

export function* readAr(buf: Buffer, ctx: ReadContext): Generator<Member> {
  let pos = 8; // after "!<arch>\n"
  let count = 0;
  let longNames: Buffer | undefined;
  while (pos < buf.length) {
    // Members are 2-byte aligned with '\n'; some writers omit the pad after the last one.
    if (pos + 1 === buf.length && buf[pos] === 0x0a) return;
    if (pos + HEADER > buf.length) return yield unparseable(`truncated member header at offset ${pos}`);
    if (buf[pos + 58] !== 0x60 || buf[pos + 59] !== 0x0a)
      return yield unparseable(`bad member header magic at offset ${pos}`);
    let name = field(buf, pos, 16);
    const size = decimal(field(buf, pos + 48, 10));
    if (size === undefined)
      return yield unparseable(`invalid size field in the header at offset ${pos}`, name);
    const modeText = field(buf, pos + 40, 8);
    const mode = /^[0-7]{1,8}$/.test(modeText) ? parseInt(modeText, 8) & 0o7777 : undefined;
    let start = pos + HEADER;
    const end = start + size;
    if (end > buf.length)
      return yield unparseable(
        `truncated: the member at offset ${pos} declares ${size} bytes, ${buf.length - start} remain`,
        name,
      );
    const at = pos;
    pos = end + (size & 1);
    if (SYMBOL_TABLES.has(name)) continue;
    if (name === '//') {
      longNames = buf.subarray(start, end);
      continue;
    }
    if (++count > ctx.limits.maxEntries) return yield tooMany(ctx.limits.maxEntries);
    const gnu = /^\/(\d{1,10})$/.exec(name);
    const bsd = /^#1\/(\d{1,10})$/.exec(name);
    if (gnu) {
      const off = Number(gnu[1]);
      if (!longNames || off >= longNames.length) {
        yield unparseable(`long name reference ${name} at offset ${at} points outside the name table`);
        continue;
      }
      let stop = off;
      while (stop < longNames.length && stop - off < MAX_NAME && longNames[stop] !== 0x0a) stop++;
      name = longNames.toString('utf8', off, stop);
    } else if (bsd) {
      const length = Number(bsd[1]);
      if (length > size || length > MAX_NAME) {
        yield unparseable(`BSD long name of ${length} bytes at offset ${at} does not fit its member`);
        continue;
      }
      name = buf.toString('utf8', start, start + length).replace(/\0+$/, '');
      start += length;
    }
    // GNU ar ends names with '/' so that they may contain spaces.
    if (name.endsWith('/')) name = name.slice(0, -1);
    yield {
      kind: 'file',
      name,
      data: buf.subarray(start, end),
      ...(mode === undefined ? {} : { mode }),
    };
  }
}

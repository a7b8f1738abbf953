import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { needTools } from '@keywarden/testkit';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { resolveLimits, type ArchiveLimits } from './limits.ts';
import { walkArchive, type ArchiveItem } from './walk.ts';

const dir = mkdtempSync(join(tmpdir(), 'kw-archive-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sh = (script: string, cwd = dir): Buffer =>
  execFileSync('sh', ['-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });

const walk = (buf: Buffer, path: string, limits: Partial<ArchiveLimits> = {}): ArchiveItem[] => [
  ...walkArchive(buf, path, limits),
];

const paths = (items: ArchiveItem[], kind: ArchiveItem['kind']) =>
  items.filter((i) => i.kind === kind).map((i) => i.path);

function problem(items: ArchiveItem[], path: string) {
  const p = items.find((i) => i.kind === 'problem' && i.path === path);
  assert.ok(p && p.kind === 'problem', `a problem at ${path} in ${JSON.stringify(summary(items))}`);
  return p;
}

const summary = (items: ArchiveItem[]) =>
  items.map((i) =>
    i.kind === 'entry' ? `${i.path} (${i.data.length})` : `${i.path}: ${i.status}: ${i.reason}`,
  );

/** A directory of small files f00.txt, f01.txt, ... with known contents. */
function smallFiles(name: string, n: number): string {
  const src = join(dir, name);
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(src, `f${String(i).padStart(2, '0')}.txt`), `file ${i}\n`);
  return src;
}

test('a zip bomb (megabytes of zeros) is refused on the ratio, naming the numbers; its neighbour is read', (t) => {
  if (!needTools(t, 'zip')) return;
  const src = join(dir, 'bomb');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'zeros.bin'), Buffer.alloc(5 * 1024 * 1024));
  writeFileSync(join(src, 'note.txt'), 'hello\n');
  sh(`zip -q -9 ../bomb.zip zeros.bin note.txt`, src);
  const zip = readFileSync(join(dir, 'bomb.zip'));
  const items = walk(zip, 'bomb.zip');
  const p = problem(items, 'bomb.zip!/zeros.bin');
  assert.equal(p.status, 'refused');
  const m =
    /^decompression ratio (\d+):1 exceeds maxRatio 200:1 \(5242880 bytes declared from (\d+) compressed bytes\)$/.exec(
      p.reason,
    );
  assert.ok(m, p.reason);
  assert.equal(Number(m[1]), Math.floor(5242880 / Number(m[2])));
  assert.ok(Number(m[1]) > 200);
  assert.deepEqual(paths(items, 'entry'), ['bomb.zip!/note.txt']);
  // The same bytes pass when the caller allows the ratio.
  assert.equal(paths(walk(zip, 'bomb.zip', { maxRatio: 2000 }), 'entry').length, 2);
});

test('a gzip bomb is stopped at its cap, never decompressed in full', () => {
  const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024), { level: 9 });
  const items = walk(bomb, 'bomb.gz');
  assert.deepEqual(summary(items), [
    `bomb.gz: refused: gzip stream: decompression ratio exceeds maxRatio 200:1: more than ${bomb.length * 200} bytes from ${bomb.length} compressed bytes`,
  ]);
});

test('nesting beyond maxDepth is refused at the level that is too deep', (t) => {
  if (!needTools(t, 'tar', 'gzip')) return;
  const src = smallFiles('nest', 1);
  sh('tar -cf c.tar f00.txt && tar -cf b.tar c.tar && tar -cf a.tar b.tar', src);
  const a = readFileSync(join(src, 'a.tar'));
  assert.deepEqual(paths(walk(a, 'a.tar'), 'entry'), ['a.tar!/b.tar!/c.tar!/f00.txt']);
  const items = walk(a, 'a.tar', { maxDepth: 2 });
  assert.deepEqual(summary(items), ['a.tar!/b.tar!/c.tar: refused: nesting depth 3 exceeds maxDepth 2']);
  // Compression stacked on compression counts as a level, so a stream that unpacks to itself ends.
  sh('gzip -c f00.txt | gzip -c | gzip -c > f.gz.gz.gz', src);
  const stacked = readFileSync(join(src, 'f.gz.gz.gz'));
  assert.deepEqual(summary(walk(stacked, 'f.gz.gz.gz')), ['f.gz.gz.gz! (7)']);
  assert.deepEqual(summary(walk(stacked, 'f.gz.gz.gz', { maxDepth: 2 })), [
    'f.gz.gz.gz: refused: nesting depth 3 exceeds maxDepth 2',
  ]);
});

test('more members than maxEntries: the first ones are read, then one refusal, in every container', (t) => {
  if (!needTools(t, 'tar', 'zip', 'cpio', 'ar')) return;
  const src = smallFiles('many', 10);
  sh(
    'tar -cf ../many.tar f*.txt && zip -q ../many.zip f*.txt && ls f*.txt | cpio --quiet -o -H newc > ../many.cpio && ar rc ../many.a f*.txt',
    src,
  );
  for (const name of ['many.tar', 'many.zip', 'many.cpio', 'many.a']) {
    const items = walk(readFileSync(join(dir, name)), name, { maxEntries: 4 });
    assert.deepEqual(
      paths(items, 'entry'),
      ['f00.txt', 'f01.txt', 'f02.txt', 'f03.txt'].map((f) => `${name}!/${f}`),
      name,
    );
    assert.deepEqual(summary(items.filter((i) => i.kind === 'problem')), [
      `${name}: refused: more than maxEntries 4 entries in one archive`,
    ]);
  }
});

test('maxEntryBytes and maxTotalBytes refuse with the numbers, and a spent total stops the walk', (t) => {
  if (!needTools(t, 'zip', 'tar', 'gzip')) return;
  const src = join(dir, 'sizes');
  mkdirSync(src, { recursive: true });
  // Hex text: compressible enough that zip deflates it, far from any ratio limit.
  writeFileSync(join(src, 'big.bin'), randomBytes(50_000).toString('hex'));
  writeFileSync(join(src, 'small.txt'), 'small\n');
  sh(
    'zip -q ../sizes.zip big.bin small.txt && gzip -c big.bin > ../big.gz && tar -czf ../sizes.tar.gz big.bin small.txt',
    src,
  );
  const zip = walk(readFileSync(join(dir, 'sizes.zip')), 'sizes.zip', { maxEntryBytes: 50_000 });
  assert.deepEqual(summary(zip), [
    'sizes.zip!/big.bin: refused: decompressed entry exceeds maxEntryBytes 50000 (100000 bytes declared)',
    'sizes.zip!/small.txt (6)',
  ]);
  const gz = walk(readFileSync(join(dir, 'big.gz')), 'big.gz', { maxEntryBytes: 50_000 });
  assert.deepEqual(summary(gz), [
    'big.gz!: refused: decompressed entry of 100000 bytes exceeds maxEntryBytes 50000',
  ]);
  // Three deflated members of 20000 bytes against a total of 30000: one read, one refused, then stop.
  for (const n of ['t1', 't2', 't3'])
    writeFileSync(join(src, `${n}.txt`), randomBytes(10_000).toString('hex'));
  sh('zip -q ../spent.zip t1.txt t2.txt t3.txt', src);
  assert.deepEqual(
    summary(walk(readFileSync(join(dir, 'spent.zip')), 'spent.zip', { maxTotalBytes: 30_000 })),
    [
      'spent.zip!/t1.txt (20000)',
      'spent.zip!/t2.txt: refused: decompressed bytes of this file exceed maxTotalBytes 30000 (20000 already used) (20000 bytes declared)',
    ],
  );
  const total = walk(readFileSync(join(dir, 'sizes.tar.gz')), 'sizes.tar.gz', { maxTotalBytes: 50_000 });
  assert.deepEqual(summary(total), [
    'sizes.tar.gz: refused: gzip stream: decompressed bytes of this file exceed maxTotalBytes 50000 (0 already used)',
  ]);
});

test('a truncated tar.gz yields the members before the cut, then says what is wrong', (t) => {
  if (!needTools(t, 'tar', 'gzip')) return;
  const src = join(dir, 'cut');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'first member\n');
  writeFileSync(join(src, 'b.bin'), randomBytes(200_000));
  sh('tar -czf ../cut.tar.gz a.txt b.bin', src);
  const whole = readFileSync(join(dir, 'cut.tar.gz'));
  const items = walk(whole.subarray(0, whole.length >> 1), 'cut.tar.gz');
  const got = items.filter((i) => i.kind === 'entry');
  assert.equal(got.length, 1);
  assert.equal(got[0]!.path, 'cut.tar.gz!/a.txt');
  assert.equal(got[0]!.kind === 'entry' && got[0]!.data.toString(), 'first member\n');
  const tarProblem = problem(items, 'cut.tar.gz!/b.bin');
  assert.equal(tarProblem.status, 'unparseable');
  assert.match(tarProblem.reason, /^truncated: the member at offset 1024 declares 200000 bytes, \d+ remain$/);
  assert.deepEqual(problem(items, 'cut.tar.gz'), {
    kind: 'problem',
    path: 'cut.tar.gz',
    status: 'unparseable',
    reason: 'gzip stream: truncated (unexpected end of file)',
  });
});

test('a truncated zip is read from its local headers up to the cut', (t) => {
  if (!needTools(t, 'zip')) return;
  const src = smallFiles('zcut', 3);
  writeFileSync(join(src, 'z.bin'), randomBytes(50_000));
  sh('zip -q ../zcut.zip f00.txt f01.txt f02.txt z.bin', src);
  const whole = readFileSync(join(dir, 'zcut.zip'));
  const cut = whole.length - 10_000;
  const local = whole.indexOf('z.bin') - 30;
  const dataAt = local + 30 + 5 + whole.readUInt16LE(local + 28);
  const items = walk(whole.subarray(0, cut), 'zcut.zip');
  assert.deepEqual(summary(items), [
    'zcut.zip!/f00.txt (7)',
    'zcut.zip!/f01.txt (7)',
    'zcut.zip!/f02.txt (7)',
    `zcut.zip!/z.bin: unparseable: truncated: data at offset ${dataAt} declares ${whole.readUInt32LE(local + 18)} bytes, ${cut - dataAt} remain`,
    'zcut.zip: unparseable: no end of central directory record (truncated, or not a zip); members recovered from local headers: 4',
  ]);
});

test('truncated xz, bzip2 and zstd streams are unparseable with the reason, nothing thrown', (t) => {
  if (!needTools(t, 'xz', 'bzip2', 'zstd')) return;
  writeFileSync(join(dir, 'plain.bin'), randomBytes(300_000));
  for (const [tool, ext] of [
    ['xz', 'xz'],
    ['bzip2', 'bz2'],
    ['zstd', 'zst'],
  ] as const) {
    sh(`${tool} -c < plain.bin > plain.${ext}`);
    const whole = readFileSync(join(dir, `plain.${ext}`));
    const items = walk(whole.subarray(0, 150_000), `plain.${ext}`);
    const p = problem(items, `plain.${ext}`);
    assert.equal(p.status, 'unparseable');
    assert.match(p.reason, new RegExp(`^${tool} stream: .*truncated`), p.reason);
  }
});

test('a tampered byte makes the member or stream invalid in every format that carries a check', (t) => {
  if (!needTools(t, 'gzip', 'xz', 'bzip2', 'zip', 'cpio', 'tar')) return;
  const src = join(dir, 'tamper');
  mkdirSync(src, { recursive: true });
  const body = randomBytes(20_000);
  writeFileSync(join(src, 'm.bin'), body);
  sh(
    'gzip -c m.bin > m.gz && xz -c m.bin > m.xz && bzip2 -c m.bin > m.bz2 && zip -q -0 m.zip m.bin && ' +
      'echo m.bin | cpio --quiet -o -H crc > m.cpio && tar -cf m.tar m.bin',
    src,
  );
  const flip = (name: string, at: (b: Buffer) => number): Buffer => {
    const b = Buffer.from(readFileSync(join(src, name)));
    b[at(b)]! ^= 0x40;
    return b;
  };
  const mid = (b: Buffer) => b.length >> 1;
  const cases: [string, Buffer, string, RegExp][] = [
    ['m.gz', flip('m.gz', mid), 'm.gz', /^gzip stream: (incorrect data check|invalid)/],
    ['m.xz', flip('m.xz', mid), 'm.xz', /^xz stream: corrupt compressed data/],
    ['m.bz2', flip('m.bz2', mid), 'm.bz2', /^bzip2 stream: .*(CRC|Data error)/],
    [
      'm.zip',
      flip('m.zip', mid),
      'm.zip!/m.bin',
      /^CRC-32 mismatch: recorded [0-9a-f]{8}, computed [0-9a-f]{8}$/,
    ],
    ['m.cpio', flip('m.cpio', mid), 'm.cpio!/m.bin', /^checksum mismatch: recorded \d+, computed \d+$/],
    ['m.tar', flip('m.tar', () => 10), 'm.tar', /^bad header checksum at offset 0$/],
  ];
  for (const [name, bytes, at, reason] of cases) {
    const items = walk(bytes, name);
    assert.equal(problem(items, at).status, 'unparseable', name);
    assert.match(problem(items, at).reason, reason, name);
    assert.ok(
      !items.some((i) => i.kind === 'entry' && i.data.equals(body)),
      `${name}: tampered bytes yielded as good`,
    );
  }
});

test('garbage behind every valid magic is a problem, never a throw and never an entry', () => {
  // Fixed bytes, so that a run cannot by chance decode as something valid.
  const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + (i >> 3) * 31 + 13) & 0xff));
  const magics: [string, Buffer][] = [
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0])],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])],
    ['bzip2', Buffer.from('BZh91AY&SY')],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
    ['zip', Buffer.from('PK\x03\x04')],
    ['ar', Buffer.from('!<arch>\n')],
    ['cpio', Buffer.from('070701')],
  ];
  for (const [name, magic] of magics) {
    const items = walk(Buffer.concat([magic, junk]), `junk.${name}`);
    assert.ok(items.length > 0 && items.every((i) => i.kind === 'problem'), `${name}: ${summary(items)}`);
    for (const i of items) assert.ok(i.kind === 'problem' && i.reason.length > 0);
  }
  const tar = Buffer.alloc(1024);
  junk.copy(tar, 0, 0, 512);
  tar.write('ustar\0', 257, 'latin1');
  assert.deepEqual(summary(walk(tar, 'junk.tar')), [
    'junk.tar: unparseable: bad header checksum at offset 0',
  ]);
});

/** A checksummed ustar header for a member `name` of `size` bytes, with the given size field bytes. */
function tarHeader(name: string, type: string, sizeField?: Buffer, size = 0): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  if (sizeField) sizeField.copy(h, 124);
  else h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0' + '00', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

test('hostile headers: huge declared sizes, windows and counts are refused before any allocation', () => {
  // tar: GNU base-256 sizes of 2^40 bytes (past the end) and 2^60 (past what a number can hold).
  const base256 = Buffer.alloc(12);
  base256[0] = 0x80;
  base256.writeUIntBE(2 ** 40, 6, 6);
  const tar = Buffer.concat([tarHeader('huge', '0', base256), Buffer.alloc(1024)]);
  assert.deepEqual(summary(walk(tar, 'h.tar')), [
    `h.tar!/huge: unparseable: truncated: the member at offset 0 declares ${2 ** 40} bytes, 1024 remain`,
  ]);
  base256.writeUIntBE(0x10, 1, 1);
  const tar60 = Buffer.concat([tarHeader('huge', '0', base256), Buffer.alloc(1024)]);
  assert.deepEqual(summary(walk(tar60, 'h.tar')), [
    'h.tar!/huge: unparseable: invalid size field in the header at offset 0',
  ]);
  // zstd: a single-segment frame declaring 2 GiB of content from a few bytes; and a 2^41-byte window.
  const fcs = Buffer.alloc(4);
  fcs.writeUInt32LE(2 ** 31);
  const ss = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0]), fcs, Buffer.from([1, 0, 0])]);
  assert.deepEqual(summary(walk(ss, 'h.zst')), [
    `h.zst: refused: zstd stream: decompression ratio exceeds maxRatio 200:1: more than ${ss.length * 200} bytes from ${ss.length} compressed bytes`,
  ]);
  const wide = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 1, 0, 0]);
  assert.match(
    summary(walk(wide, 'w.zst'))[0]!,
    /^w\.zst: unparseable: zstd stream: frame at offset 0 asks for a \d+-byte window, over 134217728$/,
  );
  // zip: an end record claiming 65535 entries in a 46-byte directory.
  const zip = Buffer.alloc(46 + 22);
  zip.write('PK\x03\x04', 0, 'latin1');
  zip.writeUInt32LE(0x06054b50, 46);
  zip.writeUInt16LE(0xfffe, 46 + 8);
  zip.writeUInt16LE(0xfffe, 46 + 10);
  zip.writeUInt32LE(46, 46 + 12);
  assert.deepEqual(summary(walk(zip, 'h.zip')), [
    // The directory is unusable, so the local headers are tried; the one there has no name.
    'h.zip: unparseable: member without a name',
    'h.zip: unparseable: end record declares 65534 entries in a 46-byte central directory; members recovered from local headers: 1',
  ]);
  // cpio: a name size of 4 GiB - 1.
  const cpio = Buffer.from('070701' + '0'.repeat(8 * 11) + 'ffffffff' + '0'.repeat(8), 'latin1');
  assert.deepEqual(summary(walk(cpio, 'h.cpio')), [
    'h.cpio: unparseable: name of 4294967295 bytes in the header at offset 0',
  ]);
  // ar: a member declaring more bytes than there are.
  const arHeader = 'x.o/'.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '644'.padEnd(8);
  const ar = Buffer.from(`!<arch>\n${arHeader}${'999999999'.padEnd(10)}\`\nabc`, 'latin1');
  assert.deepEqual(summary(walk(ar, 'h.a')), [
    'h.a!/x.o: unparseable: truncated: the member at offset 8 declares 999999999 bytes, 3 remain',
  ]);
});

test('traversal names are reported as they are, ./ prefixes dropped; pax path wins over the header', () => {
  const record = (k: string, v: string): string => {
    const body = ` ${k}=${v}\n`;
    let n = body.length + 1;
    while (String(n).length + body.length !== n) n++;
    return `${n}${body}`;
  };
  const pax = Buffer.from(record('path', '../../etc/evil.pem'));
  const tar = Buffer.concat([
    tarHeader('PaxHeader/x', 'x', undefined, pax.length),
    padded(pax),
    tarHeader('ignored-name', '0', undefined, 3),
    padded(Buffer.from('bad')),
    tarHeader('././/./ok.txt', '0', undefined, 2),
    padded(Buffer.from('ok')),
    Buffer.alloc(1024),
  ]);
  assert.deepEqual(summary(walk(tar, 't.tar')), ['t.tar!/../../etc/evil.pem (3)', 't.tar!/ok.txt (2)']);
});

test('fuzz: truncated and corrupted real archives never throw and every problem has a reason', (t) => {
  if (!needTools(t, 'tar', 'gzip', 'xz', 'bzip2', 'zstd', 'zip', 'cpio', 'ar')) return;
  const src = smallFiles('fuzz', 3);
  sh(
    'tar -cf ../fz.tar f*.txt && tar -czf ../fz.tgz f*.txt && tar -cJf ../fz.txz f*.txt && tar -cjf ../fz.tbz f*.txt && ' +
      'tar --zstd -cf ../fz.tzst f*.txt && zip -q ../fz.zip f*.txt && ls f*.txt | cpio --quiet -o -H crc > ../fz.cpio && ' +
      'ar rc ../fz.a f*.txt',
    src,
  );
  const fixtures = ['fz.tar', 'fz.tgz', 'fz.txz', 'fz.tbz', 'fz.tzst', 'fz.zip', 'fz.cpio', 'fz.a'].map((n) =>
    readFileSync(join(dir, n)),
  );
  fc.assert(
    fc.property(
      fc.nat(fixtures.length - 1),
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
      (which, cutAt, flips) => {
        const orig = fixtures[which]!;
        const b = Buffer.from(orig.subarray(0, 1 + (cutAt % orig.length)));
        for (const [at, x] of flips) b[at % b.length]! ^= x;
        for (const i of walkArchive(b, 'f', { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 22 })) {
          assert.ok(i.path.startsWith('f'));
          if (i.kind === 'problem')
            assert.ok(i.reason.length > 0 && (i.status === 'refused' || i.status === 'unparseable'));
          else assert.ok(Buffer.isBuffer(i.data));
        }
      },
    ),
    { numRuns: 400 },
  );
});

test("limits must be positive; a bad one is the caller's bug and throws at once", () => {
  assert.deepEqual(resolveLimits({ maxDepth: 3 }), {
    maxDepth: 3,
    maxEntries: 100_000,
    maxTotalBytes: 2 * 1024 ** 3,
    maxEntryBytes: 256 * 1024 ** 2,
    maxRatio: 200,
  });
  assert.throws(() => resolveLimits({ maxDepth: 0 }), RangeError);
  assert.throws(() => resolveLimits({ maxRatio: Number.NaN }), RangeError);
  assert.throws(() => walkArchive(Buffer.alloc(0), 'x', { maxEntries: 1.5 }).next(), RangeError);
});

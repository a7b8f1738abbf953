import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { needTools } from '@keywarden/testkit';
import { sniffArchive } from './sniff.ts';
import { walkArchive, type ArchiveItem } from './walk.ts';

const dir = mkdtempSync(join(tmpdir(), 'kw-archive-walk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd = dir): Buffer =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });

const sh = (script: string, cwd = dir): Buffer => run('sh', ['-c', script], cwd);

// 150 characters in one directory and one 148-character name: too long for the ustar name field and
// not splittable into its prefix, so GNU tar writes an 'L' header and pax an 'x' record.
const LONG = `d/${'a'.repeat(148)}`;

let tree: Map<string, { data: Buffer; mode: number }> | undefined;

/** The files under dir/root: a certificate made by openssl, random firmware, a long-named file. */
function files(): Map<string, { data: Buffer; mode: number }> {
  if (tree) return tree;
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc/ssl'), { recursive: true });
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  mkdirSync(join(root, 'd'), { recursive: true });
  mkdirSync(join(root, 'empty'), { recursive: true });
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ed25519',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(root, 'etc/ssl/ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=archive test',
  ]);
  writeFileSync(join(root, 'usr/lib/fw.bin'), randomBytes(70_000));
  writeFileSync(join(root, LONG), 'long name\n');
  chmodSync(join(root, 'etc/ssl/ca.pem'), 0o640);
  chmodSync(join(root, 'usr/lib/fw.bin'), 0o755);
  chmodSync(join(root, LONG), 0o600);
  symlinkSync('../etc/ssl/ca.pem', join(root, 'usr/lib/link.pem'));
  tree = new Map();
  for (const [p, mode] of [
    ['etc/ssl/ca.pem', 0o640],
    ['usr/lib/fw.bin', 0o755],
    [LONG, 0o600],
  ] as const)
    tree.set(p, { data: readFileSync(join(root, p)), mode });
  return tree;
}

const ROOT = (): string => join(dir, 'root');

/** Walk the fixture `file` (relative to the fixture directory), naming it by that relative path. */
function walk(file: string): ArchiveItem[] {
  return [...walkArchive(readFileSync(join(dir, file)), file)];
}

/** Entries keyed by path; fails if any path repeats. */
function entries(items: ArchiveItem[]): Map<string, { data: Buffer; mode?: number }> {
  const out = new Map<string, { data: Buffer; mode?: number }>();
  for (const it of items) {
    if (it.kind !== 'entry') continue;
    assert.ok(!out.has(it.path), `duplicate path ${it.path}`);
    out.set(it.path, it.mode === undefined ? { data: it.data } : { data: it.data, mode: it.mode });
  }
  return out;
}

const problems = (items: ArchiveItem[]) => items.filter((i) => i.kind === 'problem');

/** The walk found exactly the tree's files under `prefix`, with their bytes and (when kept) modes. */
function assertTree(items: ArchiveItem[], prefix: string, modes = true): void {
  assert.deepEqual(problems(items), []);
  const got = entries(items);
  const want = files();
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].map((p) => `${prefix}!/${p}`).sort());
  for (const [p, f] of want) {
    const e = got.get(`${prefix}!/${p}`)!;
    assert.ok(e.data.equals(f.data), `bytes of ${p}`);
    if (modes) assert.equal(e.mode, f.mode, `mode of ${p}`);
  }
}

test('tar in GNU, pax and ustar formats: long names, ./ prefixes, links and directories skipped', (t) => {
  if (!needTools(t, 'tar', 'openssl')) return;
  files();
  run('tar', ['-C', ROOT(), '--format=gnu', '-cf', join(dir, 'gnu.tar'), '.']);
  run('tar', ['-C', ROOT(), '--format=pax', '-cf', join(dir, 'pax.tar'), 'etc', 'usr', 'd', 'empty']);
  const gnu = readFileSync(join(dir, 'gnu.tar'));
  const pax = readFileSync(join(dir, 'pax.tar'));
  // The long name really went through the mechanisms under test.
  assert.ok(gnu.includes('././@LongLink'));
  assert.ok(pax.includes(`path=${LONG}\n`));
  assertTree(walk('gnu.tar'), 'gnu.tar');
  assertTree(walk('pax.tar'), 'pax.tar');
  // tar itself lists the same regular files.
  const listed = run('tar', ['-tvf', join(dir, 'gnu.tar')])
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('-'))
    .map((l) => l.slice(l.indexOf('./') + 2));
  assert.deepEqual(listed.sort(), [...files().keys()].sort());
});

test('ustar splits a long path into prefix and name; v7 tar has no magic and is known by its checksum', (t) => {
  if (!needTools(t, 'tar')) return;
  const split = `${'p'.repeat(70)}/${'n'.repeat(79)}`;
  const src = join(dir, 'ustar-src');
  mkdirSync(join(src, dirname(split)), { recursive: true });
  writeFileSync(join(src, split), 'split\n');
  writeFileSync(join(src, 'short'), 'short\n');
  run('tar', ['-C', src, '--format=ustar', '-cf', join(dir, 'u.tar'), split, 'short']);
  run('tar', ['-C', src, '--format=v7', '-cf', join(dir, 'v7.tar'), 'short']);
  const u = entries(walk('u.tar'));
  assert.equal(u.get(`u.tar!/${split}`)?.data.toString(), 'split\n');
  const v7 = readFileSync(join(dir, 'v7.tar'));
  assert.equal(v7.toString('latin1', 257, 262), '\0'.repeat(5));
  assert.equal(sniffArchive(v7), 'tar');
  assert.equal(entries(walk('v7.tar')).get('v7.tar!/short')?.data.toString(), 'short\n');
});

test('compressed tars are walked without an extra level: gzip, xz, bzip2, zstd', (t) => {
  if (!needTools(t, 'tar', 'gzip', 'xz', 'bzip2', 'zstd', 'openssl')) return;
  files();
  for (const [flag, name] of [
    ['-z', 'fw.tar.gz'],
    ['-J', 'fw.tar.xz'],
    ['-j', 'fw.tar.bz2'],
    ['--zstd', 'fw.tar.zst'],
  ] as const) {
    run('tar', ['-C', ROOT(), flag, '-cf', join(dir, name), 'etc', 'usr', 'd']);
    assert.notEqual(sniffArchive(readFileSync(join(dir, name))), 'tar');
    assertTree(walk(name), name);
  }
});

test('a compressed file that is not an archive is one entry named with a bare !', (t) => {
  if (!needTools(t, 'gzip', 'xz', 'bzip2', 'zstd', 'openssl')) return;
  const pem = files().get('etc/ssl/ca.pem')!.data;
  const src = join(ROOT(), 'etc/ssl/ca.pem');
  for (const [tool, ext] of [
    ['gzip', 'gz'],
    ['xz', 'xz'],
    ['bzip2', 'bz2'],
    ['zstd', 'zst'],
  ] as const) {
    // Two streams back to back (multi-member gzip, concatenated xz/bzip2, two zstd frames) decode as one.
    sh(`${tool} -c < '${src}' > ca.${ext}; { ${tool} -c < '${src}'; ${tool} -c < '${src}'; } > two.${ext}`);
    const one = walk(`ca.${ext}`);
    assert.deepEqual(problems(one), []);
    assert.deepEqual([...entries(one).keys()], [`ca.${ext}!`]);
    assert.ok(entries(one).get(`ca.${ext}!`)!.data.equals(pem), tool);
    const two = entries(walk(`two.${ext}`)).get(`two.${ext}!`);
    assert.ok(two?.data.equals(Buffer.concat([pem, pem])), `${tool} concatenated`);
  }
});

test('zip: deflated, stored, bzip2 and zip64 members, cross-checked against unzip', (t) => {
  if (!needTools(t, 'zip', 'unzip', 'openssl')) return;
  files();
  const names = ['etc', 'usr', 'd', 'empty'];
  run('zip', ['-qr', join(dir, 'a.zip'), ...names], ROOT());
  run('zip', ['-qr0', join(dir, 'stored.zip'), ...names], ROOT());
  run('zip', ['-qr', '-Z', 'bzip2', join(dir, 'bz.zip'), ...names], ROOT());
  run('zip', ['-qr', '-fz', join(dir, 'z64.zip'), ...names], ROOT());
  // -fz really wrote the zip64 end records this reader must follow.
  assert.ok(readFileSync(join(dir, 'z64.zip')).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])));
  for (const z of ['a.zip', 'stored.zip', 'bz.zip', 'z64.zip']) {
    assertTree(walk(z), z);
    // Info-ZIP stores a symbolic link as a link, which is not content; unzip lists it, we skip it.
    const listed = run('unzip', ['-Z1', join(dir, z)])
      .toString()
      .split('\n')
      .filter((l) => l && !l.endsWith('/') && !l.endsWith('link.pem'));
    assert.deepEqual(listed.sort(), [...files().keys()].sort(), z);
  }
});

test('an encrypted zip member is refused with a reason; the others are still read', (t) => {
  if (!needTools(t, 'zip')) return;
  const src = join(dir, 'enc-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'secret.txt'), 'secret\n');
  writeFileSync(join(src, 'open.txt'), 'open\n');
  run('zip', ['-q', '-P', 'pw', join(dir, 'enc.zip'), 'secret.txt'], src);
  run('zip', ['-q', join(dir, 'enc.zip'), 'open.txt'], src);
  const items = walk('enc.zip');
  assert.deepEqual(problems(items), [
    {
      kind: 'problem',
      path: 'enc.zip!/secret.txt',
      status: 'refused',
      reason: 'encrypted entry: its content cannot be read without the password',
    },
  ]);
  assert.equal(entries(items).get('enc.zip!/open.txt')?.data.toString(), 'open\n');
});

test('.deb built by dpkg-deb (xz and gzip) with a tar.gz inside: every level walked', (t) => {
  if (!needTools(t, 'dpkg-deb', 'tar', 'ar', 'openssl')) return;
  const pem = files().get('etc/ssl/ca.pem')!.data;
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'etc/ssl'), { recursive: true });
  mkdirSync(join(pkg, 'usr/share/fw'), { recursive: true });
  const control =
    'Package: kw-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: t\n';
  writeFileSync(join(pkg, 'DEBIAN/control'), control);
  writeFileSync(join(pkg, 'etc/ssl/ca.pem'), pem);
  run('tar', ['-C', ROOT(), '-czf', join(pkg, 'usr/share/fw/fw.tar.gz'), 'etc']);
  for (const [z, ext] of [
    ['xz', 'xz'],
    ['gzip', 'gz'],
  ] as const) {
    const deb = `kw-${z}.deb`;
    run('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', pkg, join(dir, deb)]);
    assert.equal(sniffArchive(readFileSync(join(dir, deb))), 'deb');
    assert.deepEqual(
      run('ar', ['t', join(dir, deb)])
        .toString()
        .split('\n')
        .filter(Boolean),
      ['debian-binary', `control.tar.${ext}`, `data.tar.${ext}`],
    );
    const items = walk(deb);
    assert.deepEqual(problems(items), []);
    const got = entries(items);
    assert.deepEqual([...got.keys()].sort(), [
      `${deb}!/control.tar.${ext}!/control`,
      `${deb}!/data.tar.${ext}!/etc/ssl/ca.pem`,
      `${deb}!/data.tar.${ext}!/usr/share/fw/fw.tar.gz!/etc/ssl/ca.pem`,
      `${deb}!/debian-binary`,
    ]);
    assert.equal(got.get(`${deb}!/debian-binary`)?.data.toString(), '2.0\n');
    assert.equal(got.get(`${deb}!/control.tar.${ext}!/control`)?.data.toString(), control);
    assert.ok(got.get(`${deb}!/data.tar.${ext}!/usr/share/fw/fw.tar.gz!/etc/ssl/ca.pem`)?.data.equals(pem));
  }
});

test('a static library (ar with a GNU long-name table) yields its members', (t) => {
  if (!needTools(t, 'ar')) return;
  const src = join(dir, 'ar-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'a-member-with-a-long-name.o'), 'long\n');
  writeFileSync(join(src, 'odd.o'), 'odd'); // odd size: the next header is after a pad byte
  writeFileSync(join(src, 'b.o'), 'b\n');
  run('ar', ['rc', join(dir, 'lib.a'), 'a-member-with-a-long-name.o', 'odd.o', 'b.o'], src);
  assert.ok(readFileSync(join(dir, 'lib.a')).includes('//'));
  const got = entries(walk('lib.a'));
  assert.deepEqual(
    [...got].map(([p, e]) => [p, e.data.toString()]),
    [
      ['lib.a!/a-member-with-a-long-name.o', 'long\n'],
      ['lib.a!/odd.o', 'odd'],
      ['lib.a!/b.o', 'b\n'],
    ],
  );
});

test('cpio newc, crc and odc, and an initramfs of a plain cpio followed by a compressed one', (t) => {
  if (!needTools(t, 'cpio', 'gzip', 'openssl')) return;
  files();
  for (const f of ['newc', 'crc', 'odc']) {
    sh(`find . | cpio --quiet -o -H ${f} > '${join(dir, `${f}.cpio`)}'`, ROOT());
    assertTree(walk(`${f}.cpio`), `${f}.cpio`);
  }
  // The kernel reads on past the first trailer: early microcode, then the real root, gzip-compressed.
  sh(`find usr | cpio --quiet -o -H newc > '${join(dir, 'early.cpio')}'`, ROOT());
  sh(`find etc d | cpio --quiet -o -H newc | gzip > '${join(dir, 'main.cpio.gz')}'`, ROOT());
  sh('cat early.cpio main.cpio.gz > initrd.img');
  assertTree(walk('initrd.img'), 'initrd.img');
});

test('formats are told by magic bytes, never by name', (t) => {
  if (!needTools(t, 'tar', 'gzip', 'openssl')) return;
  files();
  run('tar', ['-C', ROOT(), '-czf', join(dir, 'misnamed.txt'), 'etc', 'usr', 'd']);
  assertTree(walk('misnamed.txt'), 'misnamed.txt');
  writeFileSync(join(dir, 'text.zip'), 'not a zip at all\n');
  assert.deepEqual(walk('text.zip'), [
    { kind: 'entry', path: 'text.zip', data: Buffer.from('not a zip at all\n') },
  ]);
  assert.equal(sniffArchive(Buffer.from('BZh9 is how this text starts')), undefined);
  assert.equal(sniffArchive(new Uint8Array(0)), undefined);
  assert.equal(sniffArchive(new Uint8Array(512)), undefined);
});

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { classifyKeyDer, parseCertificate, parseCrl, pemBlocks, readTlv } from '@keywarden/core';
import { sweep, sweepFd, SWEEP_OVERLAP, type SweepHit } from './sweep.ts';

const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;
// In CI a missing openssl must fail the run, so only skip outside it.
const skip = HAVE_OPENSSL || process.env.CI ? false : 'openssl not found: install the Debian package openssl';

interface Fixtures {
  rsaCert: Buffer;
  edCert: Buffer;
  ecCert: Buffer;
  rsaSpki: Buffer;
  edSpki: Buffer;
  ecSpki: Buffer;
  rsaPkcs8: Buffer;
  edPkcs8: Buffer;
  ecPkcs8: Buffer;
  ecSec1: Buffer;
  rsaPkcs1: Buffer;
  ecEncrypted: Buffer;
  crl: Buffer;
  cms: Buffer;
  certPem: Buffer;
  /** openssl's SHA-256 fingerprint of each certificate, keyed by the hex of its DER. */
  fingerprints: Map<string, string>;
}

let dir = '';
let fx: Fixtures;

const openssl = (...args: string[]): Buffer =>
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

function makeFixtures(d: string): Fixtures {
  const p = (n: string): string => join(d, n);
  const key = {
    rsa: ['-newkey', 'rsa:2048'],
    ed: ['-newkey', 'ed25519'],
    ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  };
  for (const [name, alg] of Object.entries(key))
    openssl(
      'req',
      '-x509',
      ...alg,
      '-nodes',
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-days',
      '30',
      '-subj',
      `/O=Kestrel Vehicle Systems/CN=sweep ${name}`,
    );
  const der = (...args: string[]): Buffer => openssl(...args, '-outform', 'DER');
  const fingerprints = new Map<string, string>();
  const cert = (n: string): Buffer => {
    const c = der('x509', '-in', p(`${n}.crt`));
    const fp = openssl('x509', '-in', p(`${n}.crt`), '-noout', '-fingerprint', '-sha256').toString();
    fingerprints.set(
      c.toString('hex'),
      fp
        .slice(fp.indexOf('=') + 1)
        .trim()
        .replace(/:/g, '')
        .toLowerCase(),
    );
    return c;
  };
  writeFileSync(p('msg.txt'), 'firmware manifest\n');
  writeFileSync(
    p('ca.cnf'),
    '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=7\n',
  );
  writeFileSync(p('index.txt'), '');
  writeFileSync(p('crlnumber'), '01\n');
  execFileSync(
    'openssl',
    ['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ec.key', '-cert', 'ec.crt', '-out', 'c.crl'],
    { cwd: d, stdio: 'ignore' },
  );
  return {
    rsaCert: cert('rsa'),
    edCert: cert('ed'),
    ecCert: cert('ec'),
    rsaSpki: der('pkey', '-in', p('rsa.key'), '-pubout'),
    edSpki: der('pkey', '-in', p('ed.key'), '-pubout'),
    ecSpki: der('pkey', '-in', p('ec.key'), '-pubout'),
    rsaPkcs8: der('pkcs8', '-topk8', '-nocrypt', '-in', p('rsa.key')),
    edPkcs8: der('pkcs8', '-topk8', '-nocrypt', '-in', p('ed.key')),
    ecPkcs8: der('pkcs8', '-topk8', '-nocrypt', '-in', p('ec.key')),
    ecSec1: der('ec', '-in', p('ec.key')),
    rsaPkcs1: der('rsa', '-in', p('rsa.key'), '-traditional'),
    ecEncrypted: der('pkcs8', '-topk8', '-in', p('ec.key'), '-passout', 'pass:sweep-test'),
    crl: der('crl', '-in', p('c.crl')),
    cms: der(
      'cms',
      '-sign',
      '-nodetach',
      '-binary',
      '-in',
      p('msg.txt'),
      '-signer',
      p('ec.crt'),
      '-inkey',
      p('ec.key'),
    ),
    certPem: readFileSync(p('ec.crt')),
    fingerprints,
  };
}

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'kw-sweep-'));
  fx = makeFixtures(dir);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- background data ----

/** Bytes an ELF file is made of: a header, code-like bytes, and a string table with near misses. */
function elfish(size: number): Buffer {
  const out = Buffer.alloc(size);
  Buffer.from('7f454c4602010100000000000000000003003e00010000004010000000000000', 'hex').copy(out, 0);
  let s = 0x2545f491;
  for (let i = 64; i < size / 2; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = [0x48, 0x89, 0xe5, 0x8b, 0x45, 0xfc, 0x0f, 0x1f, 0x44, 0x00, 0xc3, s >>> 24][(s >>> 12) % 12]!;
  }
  const strings = Buffer.concat([
    Buffer.from(
      '\0-----BEGIN \0-----END \0CERTIFICATE\0-----BEGIN %s-----\n\0BEGIN TRANSACTION;\0' +
        'GLIBC_2.2.5\0__libc_start_main\0/usr/lib/x86_64-linux-gnu\0 0123456789abcdef 0x30 0x82\0' +
        '-----BEGIN CERTIFICATE-----\0-----END CERTIFICATE-----\n\0',
      'latin1',
    ),
    // PKCS#1 v1.5 DigestInfo prefixes, as signature code keeps them: DER, but neither key nor certificate.
    Buffer.from('3031300d060960864801650304020105000420', 'hex'),
    Buffer.from('3051300d060960864801650304020305000440', 'hex'),
  ]);
  for (let o = size / 2; o + strings.length <= size; o += strings.length) strings.copy(out, o);
  return out;
}

interface Placed {
  offset: number;
  end: number;
  kind: SweepHit['kind'];
}

/** 1 MiB: random, zeros, ELF-like data, random; the objects written over it at known offsets. */
function image(objects: readonly (readonly [number, Buffer, SweepHit['kind']])[]): {
  buf: Buffer;
  want: Placed[];
} {
  const buf = Buffer.concat([
    randomBytes(256 << 10),
    Buffer.alloc(128 << 10),
    elfish(128 << 10),
    randomBytes(512 << 10),
  ]);
  const want: Placed[] = [];
  for (const [offset, bytes, kind] of objects) {
    bytes.copy(buf, offset);
    // A PEM hit ends with the END line's dashes, before the line break.
    const len = kind === 'pem' ? bytes.toString('latin1').trimEnd().length : bytes.length;
    want.push({ offset, end: offset + len, kind });
  }
  want.sort((a, b) => a.offset - b.offset);
  return { buf, want };
}

function layout(): readonly (readonly [number, Buffer, SweepHit['kind']])[] {
  const run = Buffer.concat([fx.rsaCert, fx.edCert, fx.ecCert]); // as a kernel's system_certificates
  const list: [number, Buffer, SweepHit['kind']][] = [
    [0, fx.edSpki, 'spki'],
    [1000, fx.rsaCert, 'certificate'],
    [4099, fx.ecSpki, 'spki'],
    [9001, fx.rsaPkcs8, 'private-key'],
    [20_000, fx.edPkcs8, 'private-key'],
    [300_000, fx.ecSec1, 'private-key'], // in the zeros
    [301_000, fx.ecPkcs8, 'private-key'],
    [302_000, fx.rsaPkcs1, 'private-key'],
    [305_000, fx.ecEncrypted, 'private-key'],
    [400_123, fx.certPem, 'pem'], // in the ELF-like bytes
    [420_000, fx.crl, 'crl'],
    [430_001, fx.cms, 'cms'],
    [460_000, fx.rsaSpki, 'spki'],
    [600_000, fx.ecCert, 'certificate'],
  ];
  let o = 700_000;
  for (const c of [fx.rsaCert, fx.edCert, fx.ecCert]) {
    list.push([o, c, 'certificate']);
    o += c.length;
  }
  assert.equal(o - 700_000, run.length);
  list.push([(1 << 20) - fx.edCert.length, fx.edCert, 'certificate']); // ends exactly at the end
  return list;
}

const plain = (hits: Iterable<SweepHit>): Placed[] =>
  [...hits].map(({ offset, end, kind }) => ({ offset, end, kind }));

/** Parse a hit with our core readers (and openssl for CMS): a candidate that does not parse is a false positive. */
function parses(h: SweepHit, bytes: Buffer): void {
  const where = `${h.kind} at ${h.offset}`;
  switch (h.kind) {
    case 'certificate': {
      const c = parseCertificate(bytes);
      const fp = fx?.fingerprints.get(bytes.toString('hex'));
      if (fp) assert.equal(c.sha256, fp, where);
      break;
    }
    case 'spki':
      assert.equal(classifyKeyDer(bytes, 0, 'der')?.type, 'public-key', where);
      break;
    case 'private-key':
      assert.equal(classifyKeyDer(bytes, 0, 'der')?.type, 'private-key', where);
      break;
    case 'crl':
      parseCrl(bytes);
      break;
    case 'pem': {
      const blocks = [...pemBlocks(bytes)];
      assert.equal(blocks.length, 1, where);
      assert.equal(blocks[0]!.offset, 0, where);
      assert.equal(blocks[0]!.error, undefined, where);
      break;
    }
    case 'cms': {
      const f = join(dir, 'hit.p7');
      writeFileSync(f, bytes);
      openssl('cms', '-cmsout', '-inform', 'DER', '-in', f, '-noout');
      break;
    }
  }
}

// ---- tests ----

test('every embedded object is found at its exact range, with its kind, and nothing else', { skip }, () => {
  const { buf, want } = image(layout());
  const hits = plain(sweep(buf));
  assert.deepEqual(hits, want);
  for (const h of hits) {
    const bytes = buf.subarray(h.offset, h.end);
    parses(h, bytes);
  }
  // The cross-check with openssl: the three certificates of the run carry its fingerprints.
  const run = hits.filter((h) => h.offset >= 700_000 && h.offset < 800_000);
  assert.equal(run.length, 3);
  for (const h of run) {
    const bytes = buf.subarray(h.offset, h.end);
    assert.equal(
      createHash('sha256').update(bytes).digest('hex'),
      fx.fingerprints.get(bytes.toString('hex')),
    );
  }
});

test('a plain Uint8Array and a sub-view sweep the same, offsets relative to the view', { skip }, () => {
  const { buf, want } = image(layout());
  const u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  assert.deepEqual(plain(sweep(u8)), want);
  const view = u8.subarray(1000);
  assert.deepEqual(
    plain(sweep(view)),
    want.filter((w) => w.offset >= 1000).map((w) => ({ ...w, offset: w.offset - 1000, end: w.end - 1000 })),
  );
});

test('from, to and maxHits bound where hits start and how many come back', { skip }, () => {
  const { buf, want } = image(layout());
  const certEnd = 1000 + fx.rsaCert.length;
  assert.deepEqual(
    plain(sweep(buf, { from: certEnd })),
    want.filter((w) => w.offset >= certEnd),
  );
  // Starting inside a certificate is starting past it: what it nests is fair game.
  const inner = 1000 + fx.rsaCert.indexOf(fx.rsaSpki);
  assert.deepEqual(plain(sweep(buf, { from: 1001 }))[0], {
    offset: inner,
    end: inner + fx.rsaSpki.length,
    kind: 'spki',
  });
  // `to` bounds the start only: an object starting before it is reported whole.
  assert.deepEqual(
    plain(sweep(buf, { to: 1001 })),
    want.filter((w) => w.offset < 1001),
  );
  assert.deepEqual(plain(sweep(buf, { maxHits: 3 })), want.slice(0, 3));
  assert.deepEqual(plain(sweep(buf, { maxHits: 0 })), []);
  // Nonsense bounds are clamped, never thrown.
  assert.deepEqual(plain(sweep(buf, { from: -5, to: Number.NaN })), want);
  assert.deepEqual(plain(sweep(buf, { from: 2e9 })), []);
  assert.deepEqual(plain(sweep(buf, { from: 500, to: 100 })), []);
});

test('a tampered certificate is not reported, but the key inside it still is', { skip }, () => {
  const bad = Buffer.from(fx.rsaCert);
  // Certificate ::= SEQUENCE { tbs, algorithm, BIT STRING }: retag the signature as an OCTET STRING.
  const top = readTlv(bad, 0, bad.length);
  const tbs = readTlv(bad, top.start, top.end);
  const sigTag = readTlv(bad, tbs.end, top.end).end;
  assert.equal(bad[sigTag], 0x03);
  bad[sigTag] = 0x04;
  const { buf } = image([[5000, bad, 'certificate']]);
  const inner = fx.rsaCert.indexOf(fx.rsaSpki);
  assert.ok(inner > 0);
  assert.deepEqual(plain(sweep(buf)), [
    { offset: 5000 + inner, end: 5000 + inner + fx.rsaSpki.length, kind: 'spki' },
  ]);

  // One more octet of length than there is certificate: the SEQUENCE no longer tiles, nothing at all.
  const long = Buffer.from(fx.ecCert);
  long[3] = long[3]! + 1;
  const two = image([[5000, long, 'certificate']]);
  assert.deepEqual(
    plain(sweep(two.buf)).filter((h) => h.offset === 5000),
    [],
  );
});

test('objects cut off by the end of the buffer are not candidates and nothing throws', { skip }, () => {
  const { buf } = image([[2000, fx.rsaCert, 'certificate']]);
  const cutCert = buf.subarray(0, 2000 + fx.rsaCert.length - 10); // inside the signature
  const inner = fx.rsaCert.indexOf(fx.rsaSpki);
  assert.deepEqual(plain(sweep(cutCert)), [
    { offset: 2000 + inner, end: 2000 + inner + fx.rsaSpki.length, kind: 'spki' },
  ]);
  for (const n of [1, 2, 3, 4, 40]) assert.deepEqual(plain(sweep(fx.rsaCert.subarray(0, n))), []);
  assert.deepEqual(plain(sweep(fx.edSpki.subarray(0, fx.edSpki.length - 1))), []);
  assert.deepEqual(plain(sweep(new Uint8Array(0))), []);
});

test('PEM: a cut, mismatched or binary-polluted block is no candidate; one in JSON is', { skip }, () => {
  const pem = fx.certPem.toString('latin1');
  const cut = Buffer.from(`junk ${pem.slice(0, pem.length - 10)}`, 'latin1');
  assert.deepEqual(plain(sweep(cut)), []);
  const mismatched = Buffer.from(pem.replace('END CERTIFICATE', 'END PUBLIC KEY'), 'latin1');
  assert.deepEqual(plain(sweep(mismatched)), []);
  const binary = Buffer.from(fx.certPem);
  binary[100] = 0x00;
  assert.deepEqual(plain(sweep(binary)), []);
  const json = Buffer.from(JSON.stringify({ ca: pem }));
  const at = json.indexOf('-----BEGIN');
  const [hit, ...rest] = plain(sweep(json));
  assert.deepEqual(rest, []);
  assert.deepEqual(hit, { offset: at, end: json.indexOf('-----END CERTIFICATE-----') + 25, kind: 'pem' });
  assert.deepEqual(
    [...pemBlocks(json.subarray(hit.offset, hit.end))][0]!.der,
    [...pemBlocks(fx.certPem)][0]!.der,
  );
});

/** The streaming contract spelled out with from/to: carry the last SWEEP_OVERLAP octets over. */
function chunked(buf: Buffer, chunk: number): Placed[] {
  const out: Placed[] = [];
  let base = 0;
  let skipTo = 0;
  for (;;) {
    const end = Math.min(buf.length, base + chunk + SWEEP_OVERLAP);
    const last = end === buf.length;
    const to = last ? end - base : chunk;
    for (const h of sweep(buf.subarray(base, end), { from: Math.max(0, skipTo - base), to })) {
      out.push({ offset: base + h.offset, end: base + h.end, kind: h.kind });
      skipTo = base + h.end;
    }
    if (last) return out;
    base += to;
  }
}

test('objects across chunk boundaries are found once when chunks carry SWEEP_OVERLAP', { skip }, () => {
  const chunk = 2 * SWEEP_OVERLAP;
  // Objects across each hand-over (where `to` falls) and across each place where a read ends.
  const objs: [number, Buffer, SweepHit['kind']][] = [];
  const pool: [Buffer, SweepHit['kind']][] = [
    [fx.rsaCert, 'certificate'],
    [fx.certPem, 'pem'],
    [fx.edSpki, 'spki'],
    [fx.ecSec1, 'private-key'],
    [fx.cms, 'cms'],
    [fx.edPkcs8, 'private-key'],
  ];
  for (let k = 1; k * chunk < 1 << 20; k++) {
    const [b1, kind1] = pool[(k - 1) % pool.length]!;
    // Mostly after the hand-over, so what it nests lies in the next chunk and must stay unreported.
    objs.push([k * chunk - 64, b1, kind1]);
    const [b2, kind2] = pool[(k + 2) % pool.length]!;
    objs.push([k * chunk + SWEEP_OVERLAP - Math.floor(b2.length / 3), b2, kind2]);
  }
  const { buf, want } = image(objs);
  assert.equal(want.length, 6);
  assert.deepEqual(plain(sweep(buf)), want);
  for (const size of [chunk, SWEEP_OVERLAP, SWEEP_OVERLAP + 1, 3 * SWEEP_OVERLAP + 17])
    assert.deepEqual(chunked(buf, size), want, `chunk ${size}`);

  const file = join(dir, 'image.bin');
  writeFileSync(file, buf);
  for (const size of [chunk, SWEEP_OVERLAP, 8 << 20]) {
    const fd = openSync(file, 'r');
    try {
      const got: Placed[] = [];
      for (const h of sweepFd(fd, { chunkSize: size })) {
        assert.deepEqual(Buffer.from(h.bytes), buf.subarray(h.offset, h.end));
        got.push({ offset: h.offset, end: h.end, kind: h.kind });
      }
      assert.deepEqual(got, want, `sweepFd chunk ${size}`);
    } finally {
      closeSync(fd);
    }
  }
  const fd = openSync(file, 'r');
  try {
    assert.equal([...sweepFd(fd, { chunkSize: chunk, maxHits: 2 })].length, 2);
  } finally {
    closeSync(fd);
  }
});

test('on any bytes: hits are ordered, disjoint, in bounds, and the same in chunks as whole', { skip }, () => {
  const pieces = [
    fx.rsaCert,
    fx.edCert,
    fx.ecSpki,
    fx.edSpki,
    fx.edPkcs8,
    fx.ecSec1,
    fx.rsaPkcs1,
    fx.crl,
    fx.cms,
    fx.certPem,
  ];
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 * SWEEP_OVERLAP }),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.nat({ max: pieces.length - 1 }),
          fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }),
        ),
        { maxLength: 12 },
      ),
      fc.integer({ min: SWEEP_OVERLAP, max: 2 * SWEEP_OVERLAP }),
      (size, placed, chunk) => {
        const buf = randomBytes(size);
        for (const [at, which, edits] of placed) {
          const piece = Buffer.from(pieces[which]!);
          for (const [i, v] of edits) piece[i % piece.length] = v; // tampered copies too
          piece.copy(buf, at % size); // cut off at the end, sometimes
        }
        const hits = plain(sweep(buf));
        let last = 0;
        for (const h of hits) {
          assert.ok(h.offset >= last && h.end > h.offset && h.end <= buf.length);
          assert.ok(h.end - h.offset <= SWEEP_OVERLAP);
          last = h.end;
        }
        assert.deepEqual(chunked(buf, chunk), hits);
      },
    ),
    { numRuns: 40 },
  );
});

test('64 MiB of random bytes hold no candidate', () => {
  const buf = randomBytes(64 << 20);
  assert.deepEqual(plain(sweep(buf)), []);
});

test("node's own binary: every root certificate of its store is found, and every hit parses", () => {
  // An ELF of about 100 MB with OpenSSL inside: the strings PEM code uses and the root store as PEM.
  const fd = openSync(process.execPath, 'r');
  const pems = new Set<string>();
  try {
    for (const h of sweepFd(fd)) {
      const bytes = Buffer.from(h.bytes);
      if (h.kind === 'pem') {
        pems.add(bytes.toString('latin1'));
        const [b] = pemBlocks(bytes);
        if (b?.label === 'CERTIFICATE') parseCertificate(b.der);
      } else if (h.kind !== 'cms') parses(h, bytes);
    }
  } finally {
    closeSync(fd);
  }
  assert.ok(rootCertificates.length > 50);
  for (const root of rootCertificates) assert.ok(pems.has(root.trim()), root.slice(0, 120));
});

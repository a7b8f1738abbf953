/**
 * Property-based robustness tests: random bytes, random DER trees, and damaged copies of real
 * certificates, CSRs and CRLs (made with openssl at test time) go through every reader. Each call
 * must return or throw a CoreError (never a RangeError, TypeError or stack overflow), and quickly.
 *
 * FUZZ_RUNS=<n> scales the number of runs of each property (default 1).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkDepth, children, MAX_DEPTH, readOne, readTime, readTlv, Tag, type Tlv } from './der.ts';
import { parseCrl } from './crl.ts';
import { parseCertificationRequest } from './csr.ts';
import { CoreError } from './error.ts';
import { parseName } from './name.ts';
import { parseCertificate } from './x509.ts';

const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1) || 1);
const runs = (n: number): { numRuns: number } => ({ numRuns: n * SCALE });
/** Generous: these inputs are a few kilobytes and parse in microseconds; this only catches blow-ups. */
const SLOW_MS = 1000;

// ---------------------------------------------------------------------------------------------
// the readers under test

type Reader = (b: Uint8Array) => unknown;

const READERS: [string, Reader][] = [
  [
    'readTlv/children/checkDepth',
    (b) => {
      const t = readTlv(b, 0, b.length);
      if (t.tag & 0x20) children(b, t);
      checkDepth(b, t);
    },
  ],
  ['parseCertificate', (b) => parseCertificate(b)],
  ['parseCertificationRequest', (b) => parseCertificationRequest(b)],
  ['parseCrl', (b) => parseCrl(b)],
];

/** Run one reader: it may return or throw CoreError; anything else, or a slow call, fails the property. */
function attempt(name: string, read: Reader, b: Uint8Array): 'ok' | 'rejected' {
  const t0 = performance.now();
  try {
    read(b);
    return 'ok';
  } catch (e) {
    if (e instanceof CoreError) return 'rejected';
    const err = e as Error;
    throw new Error(`${name} threw ${err?.name}: ${err?.message}\ninput: ${Buffer.from(b).toString('hex')}`, {
      cause: e,
    });
  } finally {
    const ms = performance.now() - t0;
    if (ms > SLOW_MS) assert.fail(`${name} took ${ms.toFixed(0)} ms on ${b.length} bytes`);
  }
}

function allReaders(b: Uint8Array): void {
  for (const [name, read] of READERS) attempt(name, read, b);
}

// ---------------------------------------------------------------------------------------------
// DER building and a tree view for structure-aware mutation

function header(tag: number, n: number): number[] {
  if (n < 0x80) return [tag, n];
  const len: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v & 0xff);
  return [tag, 0x80 | len.length, ...len];
}

/** One TLV around the concatenated parts (an array, not spread: a CRL test builds 200,000 of them). */
function tlvOf(tag: number, parts: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(header(tag, body.length)), body]);
}

function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  return tlvOf(tag, parts);
}

/**
 * A parsed element: constructed ones have `kids`; OCTET STRINGs and BIT STRINGs whose content is
 * itself one constructed element (extnValue, subjectPublicKey) have `inner` (after `prefix`, the
 * BIT STRING's unused-bits octet); everything else has raw `body`.
 */
interface Node {
  tag: number;
  kids?: Node[];
  inner?: Node;
  prefix?: Uint8Array;
  body?: Uint8Array;
}

function toTree(buf: Uint8Array, t: Tlv): Node {
  if (t.tag & 0x20) return { tag: t.tag, kids: children(buf, t).map((c) => toTree(buf, c)) };
  const wrapped = t.tag === Tag.OCTET_STRING ? 0 : t.tag === Tag.BIT_STRING && buf[t.start] === 0 ? 1 : -1;
  if (wrapped >= 0 && t.end - t.start > wrapped + 1) {
    try {
      const inner = readOne(buf, t.start + wrapped, t.end);
      if (inner.tag & 0x20)
        return { tag: t.tag, prefix: buf.subarray(t.start, t.start + wrapped), inner: toTree(buf, inner) };
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
    }
  }
  return { tag: t.tag, body: buf.subarray(t.start, t.end) };
}

function encode(n: Node): Buffer {
  if (n.kids) return tlvOf(n.tag, n.kids.map(encode));
  if (n.inner) return tlv(n.tag, n.prefix ?? new Uint8Array(0), encode(n.inner));
  return tlv(n.tag, n.body ?? new Uint8Array(0));
}

/** Every node with its path of child indexes (`inner` counts as child 0). */
function paths(n: Node, at: number[] = [], out: number[][] = []): number[][] {
  out.push(at);
  if (n.kids) n.kids.forEach((k, i) => paths(k, [...at, i], out));
  else if (n.inner) paths(n.inner, [...at, 0], out);
  return out;
}

/** A copy of `root` with the node at `path` replaced by `f(node)` (undefined removes it from its parent). */
function replaceAt(root: Node, path: readonly number[], f: (n: Node) => Node | Node[] | undefined): Node[] {
  const go = (n: Node, depth: number): Node[] => {
    if (depth === path.length) {
      const r = f(n);
      return r === undefined ? [] : Array.isArray(r) ? r : [r];
    }
    const i = path[depth]!;
    if (n.kids) return [{ ...n, kids: n.kids.flatMap((k, j) => (j === i ? go(k, depth + 1) : [k])) }];
    if (n.inner) {
      const [inner] = go(n.inner, depth + 1);
      return [inner ? { ...n, inner } : { tag: n.tag, body: n.prefix ?? new Uint8Array(0) }];
    }
    return [n];
  };
  return go(root, 0);
}

/** Header octet offsets in well-formed DER (also inside wrapped OCTET/BIT STRINGs). */
function headerOffsets(buf: Uint8Array): number[] {
  const out: number[] = [];
  const walk = (t: Tlv): void => {
    out.push(t.hs);
    const n = toTree(buf, t);
    if (n.kids) for (const c of children(buf, t)) walk(c);
    else if (n.inner) walk(readOne(buf, t.start + (n.prefix?.length ?? 0), t.end));
  };
  walk(readOne(buf));
  return out;
}

const TAGS = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1c, 0x1e,
  0x30, 0x31, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0x1f,
  0xff,
];
const tagArb = fc.constantFrom(...TAGS);

/** Content that the decoders care about: digits for times, small integers, OID-ish, text. */
const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc
    .constantFrom('240101000000Z', '20240229235960Z', '991231235959+0100', '00010101000000.5Z', '9', '')
    .map((s) => Buffer.from(s)),
  fc
    .constantFrom([0x00], [0xff], [0x80], [0x01, 0x00], [0x2a, 0x86, 0x48], [0x55, 0x1d, 0x11], [0x80, 0x01])
    .map((a) => Uint8Array.from(a)),
  fc.string({ maxLength: 20 }).map((s) => Buffer.from(s, 'utf8')),
);

const { tree: treeArb } = fc.letrec<{ tree: Node; leaf: Node; cons: Node }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('cons')),
  leaf: fc.record({ tag: tagArb.filter((t) => !(t & 0x20)), body: bodyArb }),
  cons: fc.record({
    tag: fc.constantFrom(0x30, 0x31, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4),
    kids: fc.array(tie('tree'), { maxLength: 4 }),
  }),
}));

// ---------------------------------------------------------------------------------------------
// real inputs, made by openssl

let dir = '';
const samples: { name: string; der: Buffer; tree: Node; headers: number[] }[] = [];

function ossl(line: string, ...extra: string[]): void {
  execFileSync('openssl', [...line.split(' '), ...extra], {
    cwd: dir,
    env: { ...process.env, OPENSSL_CONF: join(dir, 'base.cnf') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

const CNF = `
[req]
distinguished_name = dn
prompt = no
utf8 = yes
[dn]
CN = unused
[ca]
default_ca = ca1
[ca1]
dir = ./db
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = ./ca.pem
private_key = ./ca.key
default_md = sha256
policy = any
unique_subject = no
default_days = 30
default_crl_days = 7
crl_extensions = crl_ext
[any]
commonName = optional
organizationName = optional
[crl_ext]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp
[idp]
fullname = URI:http://crl.example.com/ca.crl
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer:always
nameConstraints = permitted;DNS:.example.com, excluded;IP:10.0.0.0/255.0.0.0
[leaf_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:a.example.com, IP:10.1.2.3, IP:2001:db8::1, email:a@example.com, URI:https://a.example.com/, RID:1.2.3.4, dirName:dir, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:upn@example.com
crlDistributionPoints = URI:http://crl.example.com/ca.crl
authorityInfoAccess = OCSP;URI:http://ocsp.example.com/, caIssuers;URI:http://ca.example.com/ca.cer
certificatePolicies = 1.2.3.4, @pol
1.3.6.1.4.1.55555.1 = ASN1:UTF8String:hello
[dir]
O = Dir
CN = Dir Name
[pol]
policyIdentifier = 1.3.6.1.4.1.55555.2
CPS.1 = http://cps.example.com/
userNotice.1 = @notice
[notice]
explicitText = Notice
`;

function makeSamples(): void {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-fuzz-'));
  writeFileSync(join(dir, 'base.cnf'), CNF);
  mkdirSync(join(dir, 'db'));
  writeFileSync(join(dir, 'db', 'index.txt'), '');
  writeFileSync(join(dir, 'db', 'serial'), '00ff01\n');
  writeFileSync(join(dir, 'db', 'crlnumber'), '1000\n');
  ossl('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key');
  ossl('genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key');
  ossl('genpkey -algorithm ED25519 -out ed.key');
  ossl(
    'req -x509 -new -key ca.key -days 30 -extensions ca_ext -config base.cnf -out ca.pem',
    '-subj',
    '/O=Fuzz/CN=Fuzz CA',
  );
  ossl(
    'req -new -key rsa.key -out leaf.csr -addext subjectAltName=DNS:csr.example.com',
    '-subj',
    '/O=Fuzz/CN=leaf+UID=x',
  );
  ossl('ca -batch -config base.cnf -in leaf.csr -out leaf.pem -notext -extensions leaf_ext');
  ossl('req -new -key ed.key -out ed.csr', '-subj', '/CN=ed');
  ossl('ca -batch -config base.cnf -in ed.csr -out ed.pem -notext -enddate 99991231235959Z');
  ossl(
    'req -x509 -new -key rsa.key -days 30 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 -out pss.pem',
    '-subj',
    '/CN=pss',
  );
  ossl('ca -config base.cnf -revoke leaf.pem -crl_reason keyCompromise');
  ossl('ca -config base.cnf -revoke ed.pem -crl_compromise 20240101000000Z');
  ossl('ca -config base.cnf -revoke pss.pem -crl_hold holdInstructionReject');
  ossl('ca -gencrl -config base.cnf -out ca.crl');
  const files = ['ca.pem', 'leaf.pem', 'ed.pem', 'pss.pem', 'leaf.csr', 'ed.csr', 'ca.crl'];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'latin1');
    const b64 = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END /.exec(text)?.[1] ?? '';
    const der = Buffer.from(b64.replace(/\s+/g, ''), 'base64');
    samples.push({ name: f, der, tree: toTree(der, readOne(der)), headers: headerOffsets(der) });
  }
}

const sampleArb = (): fc.Arbitrary<(typeof samples)[number]> => fc.constantFrom(...samples);

// ---------------------------------------------------------------------------------------------

before(makeSamples, { timeout: 120_000 });
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fuzz: every reader returns or throws CoreError', () => {
  test('the samples themselves parse, and survive the tree round trip byte for byte', () => {
    for (const s of samples) {
      assert.deepEqual(encode(s.tree), s.der, s.name);
      const read = s.name.endsWith('.crl')
        ? parseCrl
        : s.name.endsWith('.csr')
          ? parseCertificationRequest
          : parseCertificate;
      read(s.der);
    }
  });

  test('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), allReaders), runs(3000));
  });

  test('random bytes behind a plausible SEQUENCE header', () => {
    const arb = fc
      .uint8Array({ minLength: 1, maxLength: 400 })
      .map((b) => Buffer.concat([Buffer.from(header(0x30, b.length)), b]));
    fc.assert(fc.property(arb, allReaders), runs(3000));
  });

  test('random well-formed DER trees', () => {
    fc.assert(fc.property(treeArb.map(encode), allReaders), runs(3000));
  });

  test('readTlv: any position and limit inside the buffer yields an element inside them, or CoreError', () => {
    const arb = fc
      .uint8Array({ maxLength: 64 })
      .chain((b) =>
        fc.tuple(
          fc.constant(b),
          fc.integer({ min: -2, max: b.length + 2 }),
          fc.integer({ min: -2, max: b.length + 2 }),
        ),
      );
    fc.assert(
      fc.property(arb, ([b, pos, limit]) => {
        let t: Tlv;
        try {
          t = readTlv(b, pos, limit);
        } catch (e) {
          if (e instanceof CoreError) return;
          throw e;
        }
        assert.ok(
          t.hs === pos &&
            pos >= 0 &&
            t.start > pos &&
            t.start <= t.end &&
            t.end <= limit &&
            limit <= b.length,
        );
        assert.ok(Number.isInteger(t.tag) && t.tag >= 0 && t.tag <= 0xff);
        if (t.tag & 0x20) {
          try {
            const kids = children(b, t);
            // children tile their parent exactly
            let at = t.start;
            for (const k of kids) {
              assert.equal(k.hs, at);
              at = k.end;
            }
            assert.equal(at, t.end);
          } catch (e) {
            if (!(e instanceof CoreError)) throw e;
          }
        }
      }),
      runs(3000),
    );
  });

  test('real inputs, truncated at every length', () => {
    for (const s of samples) for (let n = 0; n < s.der.length; n++) allReaders(s.der.subarray(0, n));
  });

  test('real inputs with flipped bits, overwritten bytes, and inserted or deleted bytes', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
      fc.record({
        kind: fc.constant('delete' as const),
        at: fc.nat(),
        count: fc.integer({ min: 1, max: 8 }),
      }),
    );
    fc.assert(
      fc.property(sampleArb(), fc.array(mutation, { minLength: 1, maxLength: 6 }), (s, ms) => {
        let b = Buffer.from(s.der);
        for (const m of ms) {
          const at = m.at % b.length;
          if (m.kind === 'flip') b[at] = b[at]! ^ (1 << m.bit);
          else if (m.kind === 'set') b[at] = m.value;
          else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
          else b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
          if (b.length === 0) break;
        }
        allReaders(b);
      }),
      runs(3000),
    );
  });

  test('real inputs with damaged tag and length octets', () => {
    // length octets: short forms, long forms of every size including 5+ octets, indefinite, past the end
    const lengthArb = fc.oneof(
      fc.nat(0x7f).map((n) => [n]),
      fc.constantFrom([0x80], [0x81, 0x00], [0x81, 0x7f], [0x82, 0x00, 0x80], [0x84, 0xff, 0xff, 0xff, 0xff]),
      fc.constantFrom([0x85, 0, 0, 0, 0, 1], [0x88, 0, 0, 0, 0, 0, 0, 0, 1], [0xff], [0xfe, 1]),
      fc
        .integer({ min: 0x81, max: 0x84 })
        .chain((l) =>
          fc.array(fc.nat(255), { minLength: l - 0x80, maxLength: l - 0x80 }).map((a) => [l, ...a]),
        ),
    );
    const arb = sampleArb().chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.array(
          fc.record({
            header: fc.constantFrom(...s.headers),
            what: fc.constantFrom('tag', 'length', 'both'),
            tag: tagArb,
            length: lengthArb,
          }),
          { minLength: 1, maxLength: 3 },
        ),
      ),
    );
    fc.assert(
      fc.property(arb, ([s, edits]) => {
        // apply from the last header backwards so that earlier offsets stay valid
        let b = Buffer.from(s.der);
        for (const e of [...edits].sort((x, y) => y.header - x.header)) {
          const t = readTlv(s.der, e.header, s.der.length);
          const lenStart = e.header + 1;
          const lenEnd = t.start;
          if (e.what !== 'length') b[e.header] = e.tag;
          if (e.what !== 'tag')
            b = Buffer.concat([b.subarray(0, lenStart), Buffer.from(e.length), b.subarray(lenEnd)]);
        }
        allReaders(b);
      }),
      runs(3000),
    );
  });

  test('real inputs with a subtree replaced, retagged, dropped or duplicated (lengths kept consistent)', () => {
    const arb = sampleArb().chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.constantFrom(...paths(s.tree).filter((p) => p.length > 0)),
        fc.oneof(
          treeArb.map((n) => ({ op: 'replace' as const, n })),
          tagArb.map((tag) => ({ op: 'retag' as const, tag })),
          fc.constant({ op: 'drop' as const }),
          fc.constant({ op: 'duplicate' as const }),
          bodyArb.map((body) => ({ op: 'body' as const, body })),
        ),
      ),
    );
    fc.assert(
      fc.property(arb, ([s, path, m]) => {
        const [root] = replaceAt(s.tree, path, (n) => {
          switch (m.op) {
            case 'replace':
              return m.n;
            case 'retag':
              return { ...n, tag: m.tag };
            case 'drop':
              return undefined;
            case 'duplicate':
              return [n, n];
            case 'body':
              return { tag: n.tag, body: m.body };
          }
        });
        assert.ok(root);
        allReaders(encode(root));
      }),
      runs(4000),
    );
  });

  test('each reader rejects the other kinds of input with CoreError', () => {
    for (const s of samples)
      for (const [name, read] of READERS.slice(1)) {
        const own =
          (name === 'parseCertificate' && s.name.endsWith('.pem')) ||
          (name === 'parseCertificationRequest' && s.name.endsWith('.csr')) ||
          (name === 'parseCrl' && s.name.endsWith('.crl'));
        assert.equal(attempt(name, read, s.der), own ? 'ok' : 'rejected', `${name} on ${s.name}`);
      }
  });
});

describe('fuzz: hostile shapes', () => {
  /** n nested SEQUENCE headers with consistent lengths: the whole input is headers. */
  function nested(n: number, tag = 0x30): Buffer {
    const headers: number[][] = [];
    let size = 0;
    for (let i = 0; i < n; i++) {
      const h = header(tag, size);
      headers.push(h);
      size += h.length;
    }
    return Buffer.from(headers.reverse().flat());
  }

  test('10,000 nested SEQUENCEs: checkDepth throws CoreError, no stack overflow', () => {
    const b = nested(10_000);
    assert.equal(b.length, readTlv(b, 0, b.length).end);
    assert.throws(
      () => checkDepth(b, readOne(b)),
      (e: unknown) =>
        e instanceof CoreError && e.code === 'DER_MALFORMED' && /nesting deeper/.test(e.message),
    );
    for (const [name, read] of READERS) assert.equal(attempt(name, read, b), 'rejected', name);
    // every constructed tag, and a depth of 100,000
    for (const tag of [0x31, 0xa0, 0xa3])
      assert.throws(() => checkDepth(b, readOne(nested(10_000, tag))), CoreError);
    const deeper = nested(100_000);
    assert.throws(() => checkDepth(deeper, readOne(deeper)), CoreError);
  });

  test('checkDepth: the bound is exact', () => {
    // the outermost element is depth 0, so MAX_DEPTH + 1 elements reach depth MAX_DEPTH
    const ok = nested(MAX_DEPTH + 1);
    checkDepth(ok, readOne(ok));
    const tooDeep = nested(MAX_DEPTH + 2);
    assert.throws(() => checkDepth(tooDeep, readOne(tooDeep)), CoreError);
  });

  test('10,000 nested headers that never close (indefinite, or claiming more than is there)', () => {
    const indefinite = Buffer.from(Array.from({ length: 10_000 }, () => [0x30, 0x80]).flat());
    const liar = Buffer.from(
      Array.from({ length: 10_000 }, () => [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]).flat(),
    );
    for (const b of [indefinite, liar]) allReaders(b);
    for (const b of [indefinite, liar])
      assert.throws(() => checkDepth(b, readTlv(b, 0, b.length)), CoreError);
  });

  test('length octets: overlong (5+), non-minimal, indefinite, past the end, high tag numbers', () => {
    const bad: [string, number[]][] = [
      ['5 length octets', [0x30, 0x85, 0, 0, 0, 0, 0]],
      ['8 length octets', [0x30, 0x88, 0, 0, 0, 0, 0, 0, 0, 0]],
      ['127 length octets', [0x30, 0xff, ...new Array<number>(127).fill(0)]],
      ['non-minimal 0x81', [0x30, 0x81, 0x05, 1, 2, 3, 4, 5]],
      ['leading zero octet', [0x30, 0x82, 0x00, 0x85, ...new Array<number>(0x85).fill(0)]],
      ['indefinite', [0x30, 0x80, 0x00, 0x00]],
      ['past the end', [0x30, 0x05, 0x02, 0x01]],
      ['4-octet length past the end', [0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]],
      ['truncated length octets', [0x30, 0x83, 0x01]],
      ['high tag number form', [0x1f, 0x81, 0x00, 0x00]],
      ['lone tag', [0x30]],
      ['empty', []],
    ];
    for (const [what, bytes] of bad) {
      const b = Buffer.from(bytes);
      assert.throws(
        () => readOne(b),
        (e: unknown) => e instanceof CoreError && e.code === 'DER_MALFORMED',
        what,
      );
      for (const [name, read] of READERS)
        assert.equal(attempt(name, read, b), 'rejected', `${name}: ${what}`);
    }
    // a caller's range outside the buffer is refused rather than read as undefined octets
    const cert = samples[0]!.der;
    assert.throws(() => readTlv(cert.subarray(0, 50), 0, cert.length), CoreError);
    assert.throws(() => readTlv(cert, -1, cert.length), CoreError);
    assert.throws(() => parseCertificate(cert.subarray(0, 50), 0, cert.length), CoreError);
    assert.throws(() => parseCertificate(cert, 0.5, cert.length), CoreError);
    assert.throws(() => parseCrl(cert, 0, cert.length + 1), CoreError);
  });

  test('wrong tags where each structure starts', () => {
    for (const s of samples)
      for (const tag of [0x31, 0x10, 0xa0, 0x04, 0x02]) {
        const b = Buffer.from(s.der);
        b[0] = tag;
        allReaders(b);
        for (const [name, read] of READERS.slice(1))
          assert.equal(attempt(name, read, b), 'rejected', `${name} ${s.name} 0x${tag.toString(16)}`);
      }
  });

  /** A sample certificate with its serial's content replaced by `content`, lengths rebuilt. */
  function withSerial(content: Uint8Array): Buffer {
    const s = samples.find((x) => x.name === 'leaf.pem')!;
    const [root] = replaceAt(s.tree, [0, 1], () => ({ tag: Tag.INTEGER, body: content }));
    return encode(root!);
  }

  /** Independent formatting of an INTEGER's value: hex of the magnitude, '-' when negative. */
  function expectedHex(content: Uint8Array): string {
    const bits = content.length * 8;
    const v = BigInt.asIntN(bits, BigInt('0x' + Buffer.from(content).toString('hex')));
    const mag = (v < 0n ? -v : v).toString(16);
    return (v < 0n ? '-' : '') + (mag.length % 2 ? '0' + mag : mag);
  }

  test('serials of any size and sign', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (content) => {
        assert.equal(parseCertificate(withSerial(content)).serial, expectedHex(content));
      }),
      runs(1000),
    );
    for (const n of [21, 1000, 100_000]) {
      const content = Buffer.alloc(n, 0xab);
      content[0] = 0x7f;
      const t0 = performance.now();
      assert.equal(parseCertificate(withSerial(content)).serial, content.toString('hex'));
      assert.ok(performance.now() - t0 < SLOW_MS);
    }
    assert.equal(parseCertificate(withSerial(Buffer.from([0x00, 0xff]))).serial, 'ff');
    assert.equal(parseCertificate(withSerial(Buffer.from([0xff]))).serial, '-01');
    assert.throws(() => parseCertificate(withSerial(new Uint8Array(0))), CoreError);
  });

  test('element caps: more than 100,000 elements in one SEQUENCE is refused quickly', () => {
    // 100,001 extensions of two octets each (SEQUENCE {}) inside [3]: refused by children()'s cap
    const s = samples.find((x) => x.name === 'leaf.pem')!;
    const many = Array.from({ length: 100_001 }, (): Node => ({ tag: 0x30, kids: [] }));
    const tbs = s.tree.kids![0]!;
    const extsAt = tbs.kids!.findIndex((k) => k.tag === 0xa3);
    const [root] = replaceAt(s.tree, [0, extsAt], () => ({ tag: 0xa3, kids: [{ tag: 0x30, kids: many }] }));
    const t0 = performance.now();
    assert.throws(
      () => parseCertificate(encode(root!)),
      (e: unknown) => e instanceof CoreError && /more than 100000/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 2 * SLOW_MS);
  });

  test('a CRL with 200,000 entries parses in bounded time, and the entry bound holds', () => {
    const s = samples.find((x) => x.name === 'ca.crl')!;
    const tbs = s.tree.kids![0]!;
    const listAt = tbs.kids!.findIndex((k, i) => i > 2 && k.tag === 0x30);
    const entry = tbs.kids![listAt]!.kids![0]!;
    const entries = Array.from({ length: 200_000 }, (): Node => entry);
    const [root] = replaceAt(s.tree, [0, listAt], (n) => ({ ...n, kids: entries }));
    const big = encode(root!);
    const t0 = performance.now();
    assert.equal(parseCrl(big).revoked.length, 200_000);
    assert.ok(performance.now() - t0 < 10 * SLOW_MS, 'slow CRL parse');
    assert.throws(() => parseCrl(big, 0, big.length, { maxEntries: 199_999 }), CoreError);
  });
});

describe('fuzz: decoded values match independent computations', () => {
  const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const leap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const pad = (n: number, w: number): string => String(n).padStart(w, '0');

  const fieldsArb = fc.record({
    year: fc.integer({ min: 0, max: 9999 }),
    mon: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    min: fc.integer({ min: 0, max: 59 }),
    sec: fc.integer({ min: 0, max: 59 }),
    utc: fc.boolean(),
  });

  test('readTime agrees with the calendar for every year, month and day, and rejects impossible dates', () => {
    fc.assert(
      fc.property(fieldsArb, ({ year, mon, day, hour, min, sec, utc }) => {
        // UTCTime covers 1950-2049 only
        const y = utc ? 1950 + (year % 100) : year;
        const text = `${utc ? pad(y % 100, 2) : pad(y, 4)}${pad(mon, 2)}${pad(day, 2)}${pad(hour, 2)}${pad(min, 2)}${pad(sec, 2)}Z`;
        const b = Buffer.from(text);
        const t = { tag: utc ? Tag.UTCTime : Tag.GeneralizedTime, hs: 0, start: 0, end: b.length };
        const valid = day <= (mon === 2 && leap(y) ? 29 : DAYS[mon - 1]!);
        if (!valid) {
          assert.throws(() => readTime(b, t), CoreError, text);
          return;
        }
        const d = new Date(0);
        d.setUTCFullYear(y, mon - 1, day);
        d.setUTCHours(hour, min, sec, 0);
        assert.equal(readTime(b, t), d.getTime(), text);
      }),
      runs(5000),
    );
  });

  /**
   * An RFC 4514 reader for our Name text: attribute values unescaped back to strings. It fails on
   * what a strict reader would misread: an unescaped leading '#' or space, or an unescaped trailing space.
   */
  function readRfc4514(text: string): string[][] {
    const rdns: string[][] = [];
    let rdn: string[] = [];
    let bytes: number[] = [];
    let inValue = false;
    let bareSpaceLast = false;
    const flush = (): void => {
      assert.ok(!bareSpaceLast, `unescaped trailing space in ${JSON.stringify(text)}`);
      rdn.push(Buffer.from(bytes).toString('utf8'));
      bytes = [];
      inValue = false;
    };
    const chars = Array.from(text); // by code point: values may hold characters outside the BMP
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (!inValue) {
        if (c === '=') inValue = true;
        continue;
      }
      if (c === '\\') {
        const h = chars.slice(i + 1, i + 3).join('');
        if (/^[0-9a-fA-F]{2}$/.test(h)) {
          bytes.push(parseInt(h, 16));
          i += 2;
        } else {
          bytes.push(...Buffer.from(chars[i + 1]!, 'utf8'));
          i++;
        }
        bareSpaceLast = false;
      } else if (c === ',' || c === '+') {
        flush();
        if (c === ',') {
          rdns.push(rdn);
          rdn = [];
        }
      } else {
        if (bytes.length === 0 && (c === '#' || c === ' '))
          assert.fail(`unescaped leading ${JSON.stringify(c)} in ${JSON.stringify(text)}`);
        bytes.push(...Buffer.from(c, 'utf8'));
        bareSpaceLast = c === ' ';
      }
    }
    flush();
    rdns.push(rdn);
    return rdns.reverse();
  }

  const valueArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc
      .array(
        fc.constantFrom(
          ' ',
          '#',
          ',',
          '+',
          '"',
          '\\',
          '<',
          '>',
          ';',
          '=',
          '\n',
          '\u0000',
          'a',
          'é',
          '東',
          '😀',
        ),
        {
          maxLength: 6,
        },
      )
      .map((a) => a.join('')),
  );

  test('Name text: RFC 4514 escaping reads back to the original values', () => {
    const rdnsArb = fc.array(fc.array(valueArb, { minLength: 1, maxLength: 3 }), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(rdnsArb, (rdns) => {
        const der = tlv(
          0x30,
          ...rdns.map((rdn) =>
            tlv(
              0x31,
              ...rdn.map((v) =>
                tlv(0x30, Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]), tlv(0x0c, Buffer.from(v, 'utf8'))),
              ),
            ),
          ),
        );
        const name = parseName(der, readOne(der));
        assert.deepEqual(readRfc4514(name.text), rdns, name.text);
      }),
      runs(3000),
    );
    // a value of a non-string type is written as '#' and the hex of its DER, unescaped
    const der = tlv(
      0x30,
      tlv(0x31, tlv(0x30, Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]), tlv(0x02, Buffer.from([0x05])))),
    );
    assert.equal(parseName(der, readOne(der)).text, 'CN=#020105');
  });
});

/**
 * The CMS SignedData reader and signer verification, on fixtures made at test time by real signers:
 * `openssl cms` / `openssl smime` (RSA, RSA-PSS, ECDSA, several signers, key ids, no attributes, no
 * certificates, BER streaming), GnuTLS `certtool --p7-sign` (Ed25519 and Ed448, which openssl 3.0's
 * cms cannot sign with), `openssl ts` (RFC 3161 tokens) and `osslsigncode` (Authenticode with a
 * nested signature and a time-stamp). Fields are cross-checked with `openssl cms -cmsout -print`,
 * verdicts with `openssl cms -verify`, `certtool --p7-verify`, `openssl ts -verify` and
 * `osslsigncode verify`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { SignatureAlgorithm } from './algorithm.ts';
import {
  CMS_LIMITS,
  CMS_OIDS,
  parseSignedData,
  parseTstInfo,
  signedContent,
  signerCertificate,
  verifyCountersignature,
  verifySigner,
  type CmsSigner,
  type SignedData,
} from './cms.ts';
import { children, readOne, type Tlv } from './der.ts';
import { CoreError } from './error.ts';
import { objectIdentifier, tlv } from './keys/der-write.ts';
import { HASH_ALGORITHMS } from './oid.ts';
import { verifySignature, verifyWithDigestAlg } from './verify.ts';
import { parseCertificate } from './x509.ts';

// ---------------------------------------------------------------------------------------------
// tools

const TOOLS = {
  openssl: { pkg: 'openssl', probe: ['version'] },
  certtool: { pkg: 'gnutls-bin', probe: ['--version'] },
  osslsigncode: { pkg: 'osslsigncode', probe: ['--version'] },
} as const;
type ToolName = keyof typeof TOOLS;

const present = new Map<ToolName, boolean>();
for (const [name, t] of Object.entries(TOOLS) as [ToolName, (typeof TOOLS)[ToolName]][])
  present.set(name, spawnSync(name, t.probe, { stdio: 'ignore' }).status === 0);

/** In CI a missing tool must fail the tests, so fixtures are attempted anyway; elsewhere they skip. */
const usable = (t: ToolName): boolean => present.get(t) === true || Boolean(process.env.CI);

function needs(...tools: ToolName[]): { skip?: string } {
  const missing = tools.filter((t) => !usable(t));
  if (missing.length === 0) return {};
  return { skip: `needs ${missing.map((t) => `${t} (Debian package ${TOOLS[t].pkg})`).join(', ')}` };
}

let dir = '';

/** Run a tool in the fixture directory; stdout is returned and never echoed (it could hold key material). */
function run(
  cmd: string,
  args: readonly string[],
  allowFail = false,
): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, {
    cwd: dir,
    env: { ...process.env, OPENSSL_CONF: join(dir, 'base.cnf') },
    maxBuffer: 64 << 20,
  });
  const ok = r.status === 0;
  if (!ok && !allowFail)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr ?? r.error).slice(0, 500)}`,
    );
  return { ok, out: r.stdout?.toString('utf8') ?? '', err: r.stderr?.toString('utf8') ?? '' };
}

const ossl = (...args: string[]): string => run('openssl', args).out;
const file = (name: string): Buffer => readFileSync(join(dir, name));
const put = (name: string, data: string | Uint8Array): void =>
  writeFileSync(join(dir, name), data, { mode: 0o600 });

function pemDer(name: string): Buffer {
  const m = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END /.exec(file(name).toString('latin1'));
  assert.ok(m, `no PEM block in ${name}`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

// ---------------------------------------------------------------------------------------------
// fixtures

const BASE_CNF = `
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3
[dn]
CN = unused
[v3]
subjectKeyIdentifier = hash
keyUsage = critical, digitalSignature
`;

const NOSKI_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = noski
`;

const TS_CNF = `
[tsa]
default_tsa = tsa1
[tsa1]
serial = ./tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.5.1
digests = sha1, sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`;

const KEYS: Record<string, string[]> = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  other: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p256b: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-algorithm', 'ED25519'],
  ed448: ['-algorithm', 'ED448'],
  tsa: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
};

interface Case {
  readonly name: string;
  readonly tool: 'openssl' | 'certtool';
  readonly detached?: boolean;
  readonly nocerts?: boolean;
  /** Key names, in the order of the tool's arguments. */
  readonly keys: readonly string[];
  /** Extra arguments to the tool. */
  readonly args?: readonly string[];
  /** Expected signature algorithm name and digest of each signer (any order). */
  readonly expect: readonly (readonly [string, string])[];
}

const CASES: readonly Case[] = [
  {
    name: 'rsa-attached',
    tool: 'openssl',
    keys: ['rsa'],
    args: ['-nodetach'],
    expect: [['1.2.840.113549.1.1.1', 'sha256']],
  },
  {
    name: 'rsa-detached',
    tool: 'openssl',
    keys: ['rsa'],
    detached: true,
    expect: [['1.2.840.113549.1.1.1', 'sha256']],
  },
  ...['sha1', 'sha224', 'sha384', 'sha512'].map((md): Case => ({
    name: `rsa-${md}`,
    tool: 'openssl',
    keys: ['rsa'],
    args: ['-nodetach', '-md', md],
    expect: [['1.2.840.113549.1.1.1', md]],
  })),
  {
    name: 'rsa-pss',
    tool: 'openssl',
    keys: ['rsa'],
    args: ['-nodetach', '-keyopt', 'rsa_padding_mode:pss'],
    expect: [['rsassaPss', 'sha256']],
  },
  {
    name: 'rsa-pss-sha384-salt32',
    tool: 'openssl',
    keys: ['rsa'],
    detached: true,
    args: ['-md', 'sha384', '-keyopt', 'rsa_padding_mode:pss', '-keyopt', 'rsa_pss_saltlen:32'],
    expect: [['rsassaPss', 'sha384']],
  },
  {
    name: 'p256',
    tool: 'openssl',
    keys: ['p256'],
    args: ['-nodetach'],
    expect: [['ecdsa-with-SHA256', 'sha256']],
  },
  {
    name: 'p384',
    tool: 'openssl',
    keys: ['p384'],
    args: ['-nodetach', '-md', 'sha384'],
    expect: [['ecdsa-with-SHA384', 'sha384']],
  },
  {
    name: 'p256-sha512-detached',
    tool: 'openssl',
    keys: ['p256'],
    detached: true,
    args: ['-md', 'sha512'],
    expect: [['ecdsa-with-SHA512', 'sha512']],
  },
  {
    name: 'two-signers',
    tool: 'openssl',
    keys: ['rsa', 'p384'],
    args: ['-nodetach'],
    expect: [
      ['1.2.840.113549.1.1.1', 'sha256'],
      ['ecdsa-with-SHA256', 'sha256'],
    ],
  },
  {
    name: 'keyid',
    tool: 'openssl',
    keys: ['p256'],
    args: ['-nodetach', '-keyid'],
    expect: [['ecdsa-with-SHA256', 'sha256']],
  },
  {
    name: 'noattr',
    tool: 'openssl',
    keys: ['p256'],
    args: ['-nodetach', '-noattr'],
    expect: [['ecdsa-with-SHA256', 'sha256']],
  },
  {
    name: 'noattr-rsa-detached',
    tool: 'openssl',
    keys: ['rsa'],
    detached: true,
    args: ['-noattr'],
    expect: [['1.2.840.113549.1.1.1', 'sha256']],
  },
  {
    name: 'nocerts',
    tool: 'openssl',
    keys: ['p256'],
    nocerts: true,
    args: ['-nodetach', '-nocerts'],
    expect: [['ecdsa-with-SHA256', 'sha256']],
  },
  {
    name: 'stream',
    tool: 'openssl',
    keys: ['rsa'],
    args: ['-nodetach', '-stream'],
    expect: [['1.2.840.113549.1.1.1', 'sha256']],
  },
  {
    name: 'ed25519',
    tool: 'certtool',
    keys: ['ed25519'],
    args: ['--p7-time'],
    expect: [['Ed25519', 'sha512']],
  },
  { name: 'ed448', tool: 'certtool', keys: ['ed448'], expect: [['Ed448', 'shake256']] },
];

const fx = new Map<string, Buffer>();
const certs = new Map<string, Buffer>();
let message = Buffer.alloc(0);
let tsaTime = 0;

function fixture(name: string): Buffer {
  const b = fx.get(name);
  assert.ok(b, `fixture ${name} was not made`);
  return b;
}

function makeCase(c: Case): void {
  const out = `${c.name}.der`;
  if (c.tool === 'certtool') {
    const k = c.keys[0]!;
    run('certtool', [
      '--p7-sign',
      '--p7-include-cert',
      ...(c.args ?? []),
      '--load-privkey',
      `${k}.key`,
      '--load-certificate',
      `${k}.pem`,
      '--infile',
      'msg.bin',
      '--outder',
      '--outfile',
      out,
    ]);
  } else {
    const signers = c.keys.flatMap((k) => ['-signer', `${k}.pem`, '-inkey', `${k}.key`]);
    ossl(
      'cms',
      '-sign',
      '-binary',
      '-in',
      'msg.bin',
      '-outform',
      'DER',
      '-out',
      out,
      ...signers,
      ...(c.args ?? []),
    );
  }
  fx.set(c.name, file(out));
}

// DER trees, to splice real tools' output together where no tool does it (countersignatures,
// a time-stamp token over a CMS signature, deep nesting).
interface Node {
  tag: number;
  kids?: Node[];
  body?: Uint8Array;
}

function toNode(buf: Uint8Array, t: Tlv = readOne(buf)): Node {
  return t.tag & 0x20
    ? { tag: t.tag, kids: children(buf, t).map((c) => toNode(buf, c)) }
    : { tag: t.tag, body: buf.subarray(t.start, t.end) };
}

function fromNode(n: Node): Buffer {
  return n.kids ? tlv(n.tag, ...n.kids.map(fromNode)) : tlv(n.tag, n.body ?? new Uint8Array(0));
}

/** ContentInfo -> [0] -> SignedData */
const sdNode = (ci: Node): Node => ci.kids![1]!.kids![0]!;
const signerNodes = (ci: Node): Node[] => sdNode(ci).kids!.at(-1)!.kids!;

function addUnsigned(signer: Node, oid: string, value: Node): void {
  let attrs = signer.kids!.at(-1)!;
  if (attrs.tag !== 0xa1) {
    attrs = { tag: 0xa1, kids: [] };
    signer.kids!.push(attrs);
  }
  attrs.kids!.push({ tag: 0x30, kids: [toNode(objectIdentifier(oid)), { tag: 0x31, kids: [value] }] });
}

function addCertificate(ci: Node, cert: Buffer): void {
  const set = sdNode(ci).kids!.find((k) => k.tag === 0xa0)!;
  set.kids!.push(toNode(cert));
}

const sigValue = (buf: Uint8Array, s: CmsSigner): Buffer =>
  Buffer.from(buf.subarray(s.signature.start, s.signature.end));

/** An RFC 3161 token from `openssl ts` over `data`. */
function timeStampToken(name: string, data: Uint8Array): Buffer {
  put(`${name}.in`, data);
  ossl('ts', '-query', '-data', `${name}.in`, '-sha256', '-cert', '-out', `${name}.tsq`);
  ossl(
    'ts',
    '-reply',
    '-config',
    'ts.cnf',
    '-queryfile',
    `${name}.tsq`,
    '-inkey',
    'tsa.key',
    '-signer',
    'tsa.pem',
    '-token_out',
    '-out',
    `${name}.tsr`,
  );
  return file(`${name}.tsr`);
}

function buildFixtures(): void {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-cms-'));
  put('base.cnf', BASE_CNF);
  put('noski.cnf', NOSKI_CNF);
  put('ts.cnf', TS_CNF);
  put('tsaserial', '01\n');
  // Binary content with CR, LF and NUL: any text canonicalisation would show as a digest mismatch.
  message = Buffer.concat([
    Buffer.from('line one\r\nline two\n\0'),
    createHash('sha512').update('m').digest(),
  ]);
  put('msg.bin', message);

  if (usable('openssl')) {
    for (const [name, opts] of Object.entries(KEYS)) {
      ossl('genpkey', ...opts, '-out', `${name}.key`);
      const extra = name === 'tsa' ? ['-addext', 'extendedKeyUsage=critical,timeStamping'] : [];
      ossl(
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-days',
        '30',
        '-subj',
        `/CN=cms ${name}`,
        '-out',
        `${name}.pem`,
        ...extra,
      );
      certs.set(name, pemDer(`${name}.pem`));
    }
    ossl(
      'req',
      '-x509',
      '-new',
      '-config',
      'noski.cnf',
      '-key',
      'p256.key',
      '-days',
      '30',
      '-out',
      'noski.pem',
    );
    certs.set('noski', pemDer('noski.pem'));
    for (const c of CASES) if (c.tool === 'openssl') makeCase(c);
    ossl(
      'smime',
      '-sign',
      '-binary',
      '-nodetach',
      '-in',
      'msg.bin',
      '-signer',
      'p256.pem',
      '-inkey',
      'p256.key',
      '-outform',
      'DER',
      '-out',
      'smime.der',
    );
    fx.set('smime', file('smime.der'));
    ossl('cms', '-data_create', '-binary', '-in', 'msg.bin', '-outform', 'DER', '-out', 'data.der');
    fx.set('data', file('data.der'));
    fx.set('token', timeStampToken('token', message));
    buildCountersigned();
  }
  if (usable('certtool')) for (const c of CASES) if (c.tool === 'certtool') makeCase(c);
  if (usable('osslsigncode') && usable('openssl')) buildAuthenticode();
}

/**
 * rsa-attached with, on its signer, a PKCS #9 countersignature (an `openssl cms` signer over the
 * signature value) and an RFC 3161 token (`openssl ts` over the same value).
 */
function buildCountersigned(): void {
  const base = fixture('rsa-attached');
  const value = sigValue(base, parseSignedData(base).signers[0]!);
  put('parent-sig.bin', value);
  ossl(
    'cms',
    '-sign',
    '-binary',
    '-in',
    'parent-sig.bin',
    '-signer',
    'p256b.pem',
    '-inkey',
    'p256b.key',
    '-outform',
    'DER',
    '-out',
    'cs.der',
  );
  const counter = signerNodes(toNode(file('cs.der')))[0]!;
  const token = timeStampToken('parent-ts', value);
  const ci = toNode(base);
  const signer = signerNodes(ci)[0]!;
  addUnsigned(signer, CMS_OIDS.countersignature, counter);
  addUnsigned(signer, CMS_OIDS.timeStampToken, toNode(token));
  addCertificate(ci, certs.get('p256b')!);
  fx.set('countersigned', fromNode(ci));
}

/** A PowerShell script signed by osslsigncode (RSA, built-in TSA), then a nested P-384 signature. */
function buildAuthenticode(): void {
  // not before the TSA certificate made a moment ago, so osslsigncode accepts the time-stamp
  tsaTime = Math.floor(Date.now() / 1000) + 1;
  put('script.ps1', 'Write-Host "keywarden"\r\n');
  const common = ['-in', 'script.ps1', '-out', 'signed1.ps1'];
  run('osslsigncode', [
    'sign',
    '-certs',
    'rsa.pem',
    '-key',
    'rsa.key',
    '-h',
    'sha256',
    '-TSA-certs',
    'tsa.pem',
    '-TSA-key',
    'tsa.key',
    '-TSA-time',
    String(tsaTime),
    ...common,
  ]);
  run('osslsigncode', [
    'sign',
    '-nest',
    '-certs',
    'p384.pem',
    '-key',
    'p384.key',
    '-h',
    'sha384',
    '-in',
    'signed1.ps1',
    '-out',
    'signed.ps1',
  ]);
  run('osslsigncode', ['extract-signature', '-in', 'signed.ps1', '-out', 'authenticode.p7']);
  fx.set('authenticode', file('authenticode.p7'));
}

before(buildFixtures, { timeout: 300_000 });
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// `openssl cms -cmsout -print`, read back

interface PrintedSigner {
  version: number;
  issuer?: string;
  serial?: string;
  ski?: string;
  digestOid: string;
  signatureOid: string;
  messageDigest?: string;
  signature: string;
}

interface Printed {
  version: number;
  digestOids: string[];
  eContentType: string;
  certificates: number;
  signers: PrintedSigner[];
}

/** Hex from openssl's dump lines ("0000 - 30 45 02-21 ...   ascii") starting at lines[from]. */
function hexDump(lines: readonly string[], from: number): string {
  let out = '';
  for (let i = from; i < lines.length; i++) {
    const m = /^\s+[0-9a-f]{4} - (.*)$/.exec(lines[i]!);
    if (!m) break;
    const bytes = /^((?:[0-9a-f]{2}[ -])*?[0-9a-f]{2})(?: {2}|$)/.exec(m[1]!);
    assert.ok(bytes, `unreadable dump line ${lines[i]}`);
    out += bytes[1]!.replace(/[ -]/g, '');
  }
  return out;
}

const oidIn = (line: string | undefined): string =>
  /\(([\d.]+)\)\s*$/.exec(line ?? '')?.[1] ?? `none in ${line}`;

/** openssl's 0xABCD or decimal, as readIntegerHex writes it: whole octets, no leading zero octets. */
function normSerial(s: string): string {
  const h = BigInt(s).toString(16);
  return h.length % 2 ? '0' + h : h;
}

function printed(name: string): Printed {
  put(`${name}.print.der`, fixture(name));
  const text = ossl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', `${name}.print.der`);
  const [head, signerText] = text.split(/^ {4}signerInfos:$/m);
  assert.ok(head !== undefined && signerText !== undefined, 'no signerInfos in the print');
  const digestPart = head.slice(head.indexOf('digestAlgorithms:'), head.indexOf('encapContentInfo:'));
  const signers = signerText
    .split(/^ {8}version: /m)
    .slice(1)
    .map((chunk): PrintedSigner => {
      const lines = chunk.split('\n');
      const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
      const s: PrintedSigner = {
        version: Number(lines[0]),
        digestOid: oidIn(lines[at(/^ {8}digestAlgorithm:/) + 1]),
        signatureOid: oidIn(lines[at(/^ {8}signatureAlgorithm:/) + 1]),
        signature: hexDump(lines, at(/^ {8}signature:/) + 1),
      };
      const issuer = at(/^ {10}issuer: /);
      if (issuer >= 0) {
        s.issuer = lines[issuer]!.replace(/^ {10}issuer: /, '');
        s.serial = normSerial(lines[at(/^ {10}serialNumber: /)]!.replace(/^ {10}serialNumber: /, '').trim());
      }
      const ski = at(/^ {8}d\.subjectKeyIdentifier:/);
      if (ski >= 0) s.ski = hexDump(lines, ski + 1);
      const md = at(/object: messageDigest \(1\.2\.840\.113549\.1\.9\.4\)/);
      if (md >= 0) s.messageDigest = hexDump(lines, md + 3);
      return s;
    });
  return {
    version: Number(/^ {4}version: (\d+)$/m.exec(head)?.[1]),
    digestOids: [...digestPart.matchAll(/algorithm: .*\(([\d.]+)\)/g)].map((m) => m[1]!),
    eContentType: oidIn(/eContentType: .*$/m.exec(head)?.[0]),
    certificates: [...head.matchAll(/^ {6}d\.certificate: ?$/gm)].length,
    signers,
  };
}

const OID_OF_HASH = Object.fromEntries(Object.entries(HASH_ALGORITHMS).map(([oid, name]) => [name, oid]));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const digestOf = (name: string, data: Uint8Array): string =>
  createHash(name, name === 'shake256' ? { outputLength: 64 } : undefined)
    .update(data)
    .digest('hex');

function assertCoreError(f: () => unknown, re: RegExp, what: string): void {
  assert.throws(f, (e: unknown) => e instanceof CoreError && re.test(e.message), what);
}

/** A copy with one octet changed. */
function flip(buf: Uint8Array, at: number): Buffer {
  const b = Buffer.from(buf);
  b[at] = b[at]! ^ 0x01;
  return b;
}

function opensslVerifies(
  buf: Uint8Array,
  c: Pick<Case, 'detached' | 'nocerts' | 'keys'>,
  name: string,
): boolean {
  put(`${name}.v.der`, buf);
  const args = [
    'cms',
    '-verify',
    '-binary',
    '-noverify',
    '-inform',
    'DER',
    '-in',
    `${name}.v.der`,
    '-out',
    `${name}.v.out`,
  ];
  if (c.detached) args.push('-content', 'msg.bin');
  if (c.nocerts) args.push('-certfile', `${c.keys[0]}.pem`);
  return run('openssl', args, true).ok;
}

function contentFor(c: Case): { content?: Uint8Array; certificate?: Uint8Array } {
  return {
    ...(c.detached && { content: message }),
    ...(c.nocerts && { certificate: certs.get(c.keys[0]!)! }),
  };
}

// ---------------------------------------------------------------------------------------------

describe('parseSignedData against openssl cms -cmsout -print', () => {
  for (const c of CASES.filter((x) => x.tool === 'openssl'))
    test(c.name, needs('openssl'), () => {
      const buf = fixture(c.name);
      const sd = parseSignedData(buf);
      const p = printed(c.name);
      assert.equal(sd.version, p.version);
      assert.deepEqual(
        sd.digestAlgorithms.map((n) => OID_OF_HASH[n] ?? n),
        p.digestOids,
      );
      assert.equal(sd.contentType, p.eContentType);
      assert.equal(sd.contentType, CMS_OIDS.data);
      assert.equal(sd.certificates.length, p.certificates);
      assert.equal(sd.certificates.length, c.nocerts ? 0 : c.keys.length);
      for (const r of sd.certificates) parseCertificate(buf, r.start, r.end);
      assert.deepEqual(sd.crls, []);
      assert.equal(sd.signers.length, p.signers.length);
      sd.signers.forEach((s, i) => {
        const q = p.signers[i]!;
        assert.equal(s.version, q.version);
        if ('ski' in s.sid) assert.equal(s.sid.ski, q.ski);
        else {
          assert.equal(s.sid.issuer.text, q.issuer);
          assert.equal(s.sid.serial, q.serial);
        }
        assert.equal(OID_OF_HASH[s.digestAlgorithm], q.digestOid);
        assert.equal(s.signatureAlgorithm.oid, q.signatureOid);
        assert.equal(s.signedAttrs?.messageDigest, q.messageDigest);
        assert.equal(hex(sigValue(buf, s)), q.signature);
      });
      assert.deepEqual(
        sd.signers.map((s) => [s.signatureAlgorithm.name, s.digestAlgorithm]).sort(),
        c.expect.map((e) => [...e]).sort(),
      );
      if (c.detached) assert.equal(signedContent(buf, sd), undefined);
      else assert.deepEqual(signedContent(buf, sd), message);
    });
});

describe('verifySigner on every fixture, cross-checked with the tool that made it', () => {
  for (const c of CASES)
    test(c.name, needs('openssl', c.tool), () => {
      const buf = fixture(c.name);
      const sd = parseSignedData(buf);
      for (const s of sd.signers) {
        const v = verifySigner(buf, sd, s, contentFor(c));
        assert.deepEqual(v, { status: 'valid', digest: digestOf(s.digestAlgorithm, message) }, c.name);
        if (s.signedAttrs) assert.equal(s.signedAttrs.messageDigest, v.digest);
        if (!c.nocerts) {
          const r = signerCertificate(buf, sd, s);
          assert.ok(r, 'signer certificate found');
          const cert = parseCertificate(buf, r.start, r.end);
          assert.match(cert.subject.text, /^CN=cms /);
        }
      }
      if (c.tool === 'openssl') assert.ok(opensslVerifies(buf, c, c.name), 'openssl cms -verify');
      else {
        put(`${c.name}.v.der`, buf);
        const r = run(
          'certtool',
          ['--p7-verify', '--inder', '--infile', `${c.name}.v.der`, '--load-certificate', `${c.keys[0]}.pem`],
          true,
        );
        assert.ok(r.ok && /Signature status: ok/.test(r.out + r.err), 'certtool --p7-verify');
      }
    });
});

describe('verifySigner: what makes a signer invalid or unverified', () => {
  test('a changed content octet: messageDigest mismatch, and openssl agrees', needs('openssl'), () => {
    for (const name of ['rsa-attached', 'p384', 'rsa-pss', 'stream']) {
      const buf = fixture(name);
      const sd = parseSignedData(buf);
      const at = sd.content?.start ?? sd.contentChunks![0]!.start;
      const bad = flip(buf, at + 3);
      const badSd = parseSignedData(bad);
      const v = verifySigner(bad, badSd, badSd.signers[0]!);
      assert.equal(v.status, 'invalid', name);
      assert.match(v.reason ?? '', /message digest mismatch/, name);
      assert.equal(opensslVerifies(bad, { keys: [] }, `${name}-badcontent`), false, `openssl on ${name}`);
    }
  });

  test('detached: other content is a mismatch, no content leaves it unverified', needs('openssl'), () => {
    const buf = fixture('rsa-detached');
    const sd = parseSignedData(buf);
    const s = sd.signers[0]!;
    const v = verifySigner(buf, sd, s, { content: flip(message, 0) });
    assert.equal(v.status, 'invalid');
    assert.match(v.reason ?? '', /message digest mismatch/);
    assert.deepEqual(verifySigner(buf, sd, s), {
      status: 'unverified',
      reason: 'content is detached and was not supplied',
    });
  });

  test('without signed attributes the signature covers the content itself', needs('openssl'), () => {
    for (const c of CASES.filter((x) => x.args?.includes('-noattr'))) {
      const buf = fixture(c.name);
      const sd = parseSignedData(buf);
      const s = sd.signers[0]!;
      assert.equal(s.signedAttrs, undefined);
      assert.deepEqual(s.unsignedAttrs, []);
      const changed = c.detached ? { content: flip(message, 5) } : {};
      const bad = c.detached ? buf : flip(buf, sd.content!.start + 5);
      const badSd = parseSignedData(bad);
      const v = verifySigner(bad, badSd, badSd.signers[0]!, changed);
      assert.equal(v.status, 'invalid', c.name);
      assert.match(v.reason ?? '', /signature does not verify/);
    }
  });

  test(
    'a changed signature or signed-attribute octet: the signature does not verify',
    needs('openssl'),
    () => {
      for (const c of CASES.filter((x) => x.tool === 'openssl' && !x.args?.includes('-noattr'))) {
        const buf = fixture(c.name);
        const s = parseSignedData(buf).signers[0]!;
        const inSig = flip(buf, s.signature.start + 10);
        const attrs = s.signedAttrs!;
        // the last octet of the signed attributes, inside whichever attribute value comes last
        const inAttrs = flip(buf, attrs.end - 1);
        for (const [what, bad] of [
          ['signature', inSig],
          ['signed attributes', inAttrs],
        ] as const) {
          const sd = parseSignedData(bad);
          const v = verifySigner(bad, sd, sd.signers[0]!, contentFor(c));
          assert.equal(v.status, 'invalid', `${c.name}: ${what}`);
          assert.match(v.reason ?? '', /signature does not verify|message digest mismatch/);
          assert.equal(opensslVerifies(bad, c, `${c.name}-bad`), false, `openssl on ${c.name} ${what}`);
        }
      }
    },
  );

  test('the wrong certificate: another key of the same type, or of another type', needs('openssl'), () => {
    for (const [name, wrong] of [
      ['p256', 'p256b'],
      ['p256', 'rsa'],
      ['rsa-attached', 'other'],
      ['rsa-pss', 'p384'],
    ] as const) {
      const buf = fixture(name);
      const sd = parseSignedData(buf);
      const v = verifySigner(buf, sd, sd.signers[0]!, { certificate: certs.get(wrong)! });
      assert.equal(v.status, 'invalid', `${name} with ${wrong}`);
      assert.match(v.reason ?? '', /signature does not verify/);
    }
  });

  test('certificates omitted: unverified until the certificate is given', needs('openssl'), () => {
    const buf = fixture('nocerts');
    const sd = parseSignedData(buf);
    const s = sd.signers[0]!;
    assert.equal(signerCertificate(buf, sd, s), undefined);
    const v = verifySigner(buf, sd, s);
    assert.equal(v.status, 'unverified');
    assert.match(v.reason ?? '', /signer certificate not found/);
    assert.equal(v.digest, digestOf('sha256', message));
    assert.equal(verifySigner(buf, sd, s, { certificate: certs.get('p256')! }).status, 'valid');
    const junk = verifySigner(buf, sd, s, { certificate: Buffer.from('not a certificate') });
    assert.equal(junk.status, 'unverified');
    assert.match(junk.reason ?? '', /offset/);
  });

  test(
    'key identifier: the sid is the certificate SKI; a certificate without one matches by its key hash',
    needs('openssl'),
    () => {
      const buf = fixture('keyid');
      const sd = parseSignedData(buf);
      const s = sd.signers[0]!;
      assert.equal(s.version, 3);
      assert.ok('ski' in s.sid);
      assert.equal(s.sid.ski, parseCertificate(certs.get('p256')!).ski);
      // The same key in a certificate without the extension: RFC 5280 method 1 gives the same id.
      const ci = toNode(buf);
      const set = sdNode(ci).kids!.find((k) => k.tag === 0xa0)!;
      set.kids = [toNode(certs.get('noski')!)];
      const swapped = fromNode(ci);
      const sd2 = parseSignedData(swapped);
      assert.equal(parseCertificate(certs.get('noski')!).ski, undefined);
      const r = signerCertificate(swapped, sd2, sd2.signers[0]!);
      assert.ok(r);
      assert.deepEqual(swapped.subarray(r.start, r.end), certs.get('noski'));
      assert.equal(verifySigner(swapped, sd2, sd2.signers[0]!).status, 'valid');
    },
  );

  test('two signers: each finds its own certificate', needs('openssl'), () => {
    const buf = fixture('two-signers');
    const sd = parseSignedData(buf);
    const found = sd.signers.map((s) => signerCertificate(buf, sd, s)!);
    assert.notDeepEqual(found[0], found[1]);
    const keys = found.map((r) => parseCertificate(buf, r.start, r.end).publicKey.algorithm).sort();
    assert.deepEqual(keys, ['EC', 'RSA']);
    // Swapping the certificate of one for the other's fails that signer only.
    const v = verifySigner(buf, sd, sd.signers[0]!, {
      certificate: buf.subarray(found[1]!.start, found[1]!.end),
    });
    assert.equal(v.status, 'invalid');
  });

  test('RSA-PSS parameters come from the signature algorithm', needs('openssl'), () => {
    const pss = parseSignedData(fixture('rsa-pss')).signers[0]!.signatureAlgorithm.pss;
    assert.equal(pss?.hash, 'sha256');
    assert.equal(pss?.mgfHash, 'sha256');
    // openssl's default salt for signing is the largest the 2048-bit modulus allows: 256 - 32 - 2
    assert.equal(pss?.saltLength, 222);
    const pss384 = parseSignedData(fixture('rsa-pss-sha384-salt32')).signers[0]!.signatureAlgorithm.pss;
    assert.deepEqual([pss384?.hash, pss384?.saltLength], ['sha384', 32]);
  });

  test('signed attributes: contentType, signingTime, the rest kept as ranges', needs('openssl'), () => {
    const buf = fixture('rsa-attached');
    const sa = parseSignedData(buf).signers[0]!.signedAttrs!;
    assert.equal(sa.contentType, CMS_OIDS.data);
    assert.ok(sa.signingTime !== undefined && Math.abs(sa.signingTime - Date.now()) < 10 * 60_000);
    assert.equal(buf[sa.start], 0xa0);
    const oids = sa.attributes.map((a) => a.oid);
    assert.ok(oids.includes('1.2.840.113549.1.9.15'), 'S/MIME capabilities kept');
    for (const a of sa.attributes) for (const v of a.values) readOne(buf, v.start, v.end);
  });
});

describe('BER, PKCS #7 and odd ContentInfo', () => {
  test('openssl cms -stream: indefinite lengths and a constructed OCTET STRING', needs('openssl'), () => {
    const buf = fixture('stream');
    assertCoreError(() => readOne(buf), /indefinite length at offset 0/, 'der.ts refuses it');
    const sd = parseSignedData(buf);
    assert.equal(sd.content, undefined);
    assert.ok(sd.contentChunks && sd.contentChunks.length >= 1);
    assert.deepEqual(signedContent(buf, sd), message);
    const printedStream = printed('stream');
    assert.equal(printedStream.signers[0]!.messageDigest, sd.signers[0]!.signedAttrs?.messageDigest);
  });

  test('openssl smime (the PKCS #7 code path) reads and verifies alike', needs('openssl'), () => {
    const buf = fixture('smime');
    const sd = parseSignedData(buf);
    assert.equal(sd.signers.length, 1);
    assert.equal(verifySigner(buf, sd, sd.signers[0]!).status, 'valid');
  });

  test('a ContentInfo of another type is refused as unexpected, not malformed', needs('openssl'), () => {
    assert.throws(
      () => parseSignedData(fixture('data')),
      (e: unknown) =>
        e instanceof CoreError &&
        e.code === 'DER_UNEXPECTED' &&
        /holds 1\.2\.840\.113549\.1\.7\.1/.test(e.message),
    );
  });

  test(
    'zero padding after the ContentInfo is accepted, other trailing bytes are not',
    needs('openssl'),
    () => {
      const buf = fixture('p256');
      const padded = Buffer.concat([buf, Buffer.alloc(7)]);
      assert.equal(parseSignedData(padded).signers.length, 1);
      assertCoreError(
        () => parseSignedData(Buffer.concat([buf, Buffer.from([0, 1])])),
        /trailing bytes/,
        'trailing',
      );
      // a sub-range of a larger buffer: ranges stay absolute
      const framed = Buffer.concat([Buffer.from('head'), buf, Buffer.from('tail')]);
      const sd = parseSignedData(framed, 4, 4 + buf.length);
      assert.deepEqual(signedContent(framed, sd), message);
      assert.equal(verifySigner(framed, sd, sd.signers[0]!).status, 'valid');
    },
  );

  test('every truncation is a CoreError naming an offset', needs('openssl'), () => {
    for (const name of ['p256', 'stream', 'noattr']) {
      const buf = fixture(name);
      for (let n = 0; n < buf.length; n++)
        assertCoreError(() => parseSignedData(buf.subarray(0, n)), /offset \d+/, `${name} cut at ${n}`);
    }
  });
});

describe('RFC 3161 time-stamp tokens and countersignatures', () => {
  test('openssl ts -token_out: the token and its TSTInfo, against openssl ts -text', needs('openssl'), () => {
    const buf = fixture('token');
    const sd = parseSignedData(buf);
    assert.equal(sd.contentType, CMS_OIDS.tstInfo);
    const tst = parseTstInfo(buf, sd.content!.start, sd.content!.end);
    put('token.check', buf);
    const text = ossl('ts', '-reply', '-in', 'token.check', '-token_in', '-text', '-config', 'ts.cnf');
    assert.equal(tst.version, Number(/^Version: (\d+)/m.exec(text)?.[1]));
    assert.equal(tst.policy, /^Policy OID: (.*)$/m.exec(text)?.[1]);
    assert.equal(tst.imprintAlgorithm, /^Hash Algorithm: (.*)$/m.exec(text)?.[1]);
    assert.equal(
      tst.imprint,
      hexDump(text.split('\n'), text.split('\n').findIndex((l) => l === 'Message data:') + 1),
    );
    assert.equal(tst.imprint, digestOf('sha256', message));
    assert.equal(tst.serial, normSerial(/^Serial number: (.*)$/m.exec(text)![1]!));
    assert.equal(tst.nonce, normSerial(/^Nonce: (.*)$/m.exec(text)![1]!));
    assert.equal(tst.genTime, Date.parse(/^Time stamp: (.*)$/m.exec(text)![1]!.replace(/ +/g, ' ')));
    assert.equal(tst.accuracyMicros, 1_500_100);
    assert.equal(tst.ordering, true);
    assert.deepEqual(tst.tsa, { type: 'directoryName', value: 'CN=cms tsa' });
    assert.equal(verifySigner(buf, sd, sd.signers[0]!).status, 'valid');
    assert.ok(
      run(
        'openssl',
        [
          'ts',
          '-verify',
          '-in',
          'token.check',
          '-token_in',
          '-data',
          'msg.bin',
          '-CAfile',
          'tsa.pem',
          '-config',
          'ts.cnf',
        ],
        true,
      ).ok,
    );
  });

  test('a PKCS #9 countersignature and an RFC 3161 token on one signer', needs('openssl'), () => {
    const buf = fixture('countersigned');
    const sd = parseSignedData(buf);
    const s = sd.signers[0]!;
    assert.equal(verifySigner(buf, sd, s).status, 'valid');
    assert.ok(opensslVerifies(buf, { keys: [] }, 'countersigned'), 'openssl still reads the spliced message');
    assert.deepEqual(
      s.unsignedAttrs.map((a) => a.oid),
      [CMS_OIDS.countersignature, CMS_OIDS.timeStampToken],
    );
    const [pkcs9, rfc3161] = s.countersignatures;
    assert.ok(pkcs9 && rfc3161);
    assert.equal(pkcs9.kind, 'pkcs9');
    assert.equal(pkcs9.signer.signedAttrs?.messageDigest, digestOf('sha256', sigValue(buf, s)));
    assert.deepEqual(verifyCountersignature(buf, sd, pkcs9, s), {
      status: 'valid',
      digest: digestOf('sha256', sigValue(buf, s)),
    });
    assert.equal(rfc3161.kind, 'rfc3161');
    assert.equal(rfc3161.oid, CMS_OIDS.timeStampToken);
    assert.equal(rfc3161.imprint, digestOf('sha256', sigValue(buf, s)));
    assert.equal(rfc3161.imprintAlgorithm, 'sha256');
    assert.ok(rfc3161.time !== undefined && Math.abs(rfc3161.time - Date.now()) < 10 * 60_000);
    assert.equal(verifyCountersignature(buf, sd, rfc3161, s).status, 'valid');

    // the parent's signature changed: both countersignatures now cover something else
    const bad = flip(buf, s.signature.start + 1);
    const badSd = parseSignedData(bad);
    const bs = badSd.signers[0]!;
    const [b9, b3161] = bs.countersignatures;
    const v9 = verifyCountersignature(bad, badSd, b9!, bs);
    assert.equal(v9.status, 'invalid');
    assert.match(v9.reason ?? '', /message digest mismatch/);
    const v3161 = verifyCountersignature(bad, badSd, b3161!, bs);
    assert.equal(v3161.status, 'invalid');
    assert.match(v3161.reason ?? '', /imprint/);

    // the TSTInfo changed (a letter of the TSA's name, its last field): the token's own signer fails
    const tampered = flip(buf, rfc3161.signedData!.content!.end - 2);
    const tSd = parseSignedData(tampered);
    const ts = tSd.signers[0]!;
    const vt = verifyCountersignature(tampered, tSd, ts.countersignatures[1]!, ts);
    assert.equal(vt.status, 'invalid');
    assert.match(vt.reason ?? '', /message digest mismatch|imprint/);

    // the countersigner's certificate can also be given explicitly, and a wrong one fails
    const wrong = verifyCountersignature(buf, sd, pkcs9, s, { certificate: certs.get('p256')! });
    assert.equal(wrong.status, 'invalid');
  });
});

describe('Authenticode from osslsigncode: SpcIndirectDataContent, nested signature, time-stamp', () => {
  test('parse and verify, against osslsigncode verify', needs('openssl', 'osslsigncode'), () => {
    const buf = fixture('authenticode');
    const sd = parseSignedData(buf);
    assert.equal(sd.contentType, CMS_OIDS.spcIndirectData);
    assert.equal(buf[sd.content!.start], 0x30, 'content is the SpcIndirectDataContent SEQUENCE');
    assert.deepEqual(sd.contentElement, { tag: 0x30, ...sd.content });
    const s = sd.signers[0]!;
    assert.equal(verifySigner(buf, sd, s).status, 'valid');
    assert.equal(s.nested.length, 1);
    const inner = s.nested[0]!;
    const is = inner.signers[0]!;
    assert.equal(is.digestAlgorithm, 'sha384');
    assert.equal(is.signatureAlgorithm.name, 'ecdsa-with-SHA384');
    assert.equal(verifySigner(buf, inner, is).status, 'valid');
    const [ts] = s.countersignatures;
    assert.ok(ts);
    assert.equal(ts.kind, 'rfc3161');
    assert.equal(ts.oid, CMS_OIDS.msTimeStampToken);
    assert.equal(ts.time, tsaTime * 1000);
    assert.equal(verifyCountersignature(buf, sd, ts, s).status, 'valid');

    put('authenticode-ca.pem', Buffer.concat([file('rsa.pem'), file('p384.pem')]));
    const out = run(
      'osslsigncode',
      ['verify', '-CAfile', 'authenticode-ca.pem', '-TSA-CAfile', 'tsa.pem', '-in', 'signed.ps1'],
      true,
    ).out;
    const digests = [...out.matchAll(/^\s*Message digest: ([0-9A-F]+)/gm)].map((m) => m[1]!.toLowerCase());
    assert.deepEqual(digests, [s.signedAttrs?.messageDigest, is.signedAttrs?.messageDigest]);
    assert.match(out, /Signature verification: ok/);

    // the signed content changed: the messageDigest (over the SEQUENCE's value octets) no longer matches
    const bad = flip(buf, sd.content!.end - 1);
    const badSd = parseSignedData(bad);
    const v = verifySigner(bad, badSd, badSd.signers[0]!);
    assert.equal(v.status, 'invalid');
    assert.match(v.reason ?? '', /message digest mismatch/);
  });
});

describe('bounds', () => {
  test('nested signatures deeper than the limit are refused', needs('openssl'), () => {
    let inner = fixture('noattr');
    for (let depth = 1; depth <= CMS_LIMITS.nesting + 1; depth++) {
      const ci = toNode(fixture('noattr'));
      addUnsigned(signerNodes(ci)[0]!, CMS_OIDS.msNestedSignature, toNode(inner));
      inner = fromNode(ci);
      if (depth <= CMS_LIMITS.nesting) {
        let sd: SignedData = parseSignedData(inner);
        for (let d = 0; d < depth; d++) sd = sd.signers[0]!.nested[0]!;
        assert.equal(verifySigner(inner, sd, sd.signers[0]!).status, 'valid');
      } else
        assertCoreError(() => parseSignedData(inner), /nested deeper than 4 at offset/, `depth ${depth}`);
    }
  });

  test(
    'many signers over many certificates: bounded counts, certificates read once',
    needs('openssl'),
    () => {
      const build = (signers: number, certificates: number): Buffer => {
        const ci = toNode(fixture('p256'));
        const sd = sdNode(ci);
        const set = sd.kids!.find((k) => k.tag === 0xa0)!;
        const other = toNode(certs.get('rsa')!);
        set.kids = [...Array.from({ length: certificates - 1 }, () => other), ...set.kids!];
        const infos = sd.kids!.at(-1)!;
        infos.kids = Array.from({ length: signers }, () => infos.kids![0]!);
        return fromNode(ci);
      };
      const big = build(CMS_LIMITS.signers, 2000);
      const t0 = performance.now();
      const sd = parseSignedData(big);
      assert.equal(sd.signers.length, CMS_LIMITS.signers);
      for (const s of sd.signers) assert.equal(verifySigner(big, sd, s).status, 'valid');
      // the matching certificate is the last of 2000: a parse per signer would take minutes
      assert.ok(performance.now() - t0 < 10_000, `${(performance.now() - t0).toFixed(0)} ms`);
      assertCoreError(
        () => parseSignedData(build(CMS_LIMITS.signers + 1, 1)),
        /more than 1000 elements at offset/,
        'signers',
      );
    },
  );

  test('a second messageDigest attribute is refused', needs('openssl'), () => {
    const ci = toNode(fixture('p256'));
    const signer = signerNodes(ci)[0]!;
    const attrs = signer.kids!.find((k) => k.tag === 0xa0)!;
    const md = attrs.kids!.find(
      (a) => hex(fromNode(a.kids![0]!)) === hex(objectIdentifier(CMS_OIDS.messageDigest)),
    )!;
    attrs.kids!.push(md);
    assertCoreError(() => parseSignedData(fromNode(ci)), /second messageDigest attribute/, 'duplicate');
  });
});

describe('fuzz: random and damaged SignedData only ever fail with CoreError', () => {
  const SLOW_MS = 2000;
  // FUZZ_RUNS=<n> scales the runs, as in fuzz.test.ts
  const scale = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1) || 1);

  function exercise(b: Uint8Array): void {
    const t0 = performance.now();
    try {
      const walk = (sd: SignedData): void => {
        signedContent(b, sd);
        for (const s of sd.signers) {
          signerCertificate(b, sd, s);
          verifySigner(b, sd, s, { content: message });
          verifySigner(b, sd, s);
          for (const cs of s.countersignatures) verifyCountersignature(b, sd, cs, s);
          for (const n of s.nested) walk(n);
        }
      };
      walk(parseSignedData(b));
    } catch (e) {
      if (!(e instanceof CoreError)) {
        const err = e as Error;
        throw new Error(`${err?.name}: ${err?.message}\ninput: ${Buffer.from(b).toString('hex')}`, {
          cause: e,
        });
      }
    } finally {
      const ms = performance.now() - t0;
      if (ms > SLOW_MS) assert.fail(`took ${ms.toFixed(0)} ms on ${b.length} bytes`);
    }
  }

  test('random bytes, and random bytes behind a SignedData ContentInfo header', () => {
    const prefix = Buffer.from('308006092a864886f70d010702a080', 'hex');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, framed) => {
        exercise(framed ? Buffer.concat([prefix, bytes]) : bytes);
      }),
      { numRuns: 2000 * scale },
    );
  });

  test('mutated fixtures', needs('openssl'), () => {
    const names = [...fx.keys()].filter((n) => n !== 'data');
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (name, edits) => {
          let b = Buffer.from(fixture(name));
          for (const m of edits) {
            const i = b.length === 0 ? 0 : m.at % b.length;
            if (m.kind === 'flip') b[i] = m.value;
            else if (m.kind === 'cut') b = b.subarray(0, i);
            else if (m.kind === 'insert')
              b = Buffer.concat([b.subarray(0, i), Buffer.from([m.value]), b.subarray(i)]);
            else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
          }
          exercise(b);
        },
      ),
      { numRuns: 1500 * scale },
    );
  });

  test('deep and never-ending indefinite lengths fail fast', () => {
    const deep = Buffer.from(Array.from({ length: 10_000 }, () => [0x30, 0x80]).flat());
    assertCoreError(() => parseSignedData(deep), /nesting deeper|offset/, 'deep');
    const open = Buffer.concat([
      Buffer.from('308006092a864886f70d010702a0803080', 'hex'),
      Buffer.alloc(100_000, 0x05),
    ]);
    exercise(open);
  });
});

// ---------------------------------------------------------------------------------------------

describe('verifySignature / verifyWithDigestAlg', () => {
  const data = Buffer.from('keywarden verify.ts');
  const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pssKey = generateKeyPairSync('rsa-pss', {
    modulusLength: 2048,
    hashAlgorithm: 'sha384',
    mgf1HashAlgorithm: 'sha384',
  });
  const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed25519 = generateKeyPairSync('ed25519');
  const ed448 = generateKeyPairSync('ed448');
  const dsa = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 });
  const pss = (hash: string, saltLength: number): SignatureAlgorithm => ({
    oid: '1.2.840.113549.1.1.10',
    name: 'rsassaPss',
    pss: { hash, mgf: 'mgf1', mgfHash: hash, saltLength, trailerField: 1 },
  });

  test('every algorithm, with a tampered signature and tampered data failing', () => {
    const cases: [string, SignatureAlgorithm | string, KeyObject, KeyObject, Buffer][] = [];
    const rsaOids: Record<string, string> = {
      md5: '1.2.840.113549.1.1.4',
      sha1: '1.2.840.113549.1.1.5',
      sha224: '1.2.840.113549.1.1.14',
      sha256: '1.2.840.113549.1.1.11',
      sha384: '1.2.840.113549.1.1.12',
      sha512: '1.2.840.113549.1.1.13',
      'sha3-256': '2.16.840.1.101.3.4.3.14',
    };
    for (const [h, oid] of Object.entries(rsaOids))
      cases.push([`rsa ${h}`, oid, rsa.publicKey, rsa.privateKey, sign(h, data, rsa.privateKey)]);
    const ecOids: Record<string, string> = {
      sha1: '1.2.840.10045.4.1',
      sha224: '1.2.840.10045.4.3.1',
      sha256: '1.2.840.10045.4.3.2',
      sha384: '1.2.840.10045.4.3.3',
      sha512: '1.2.840.10045.4.3.4',
      'sha3-384': '2.16.840.1.101.3.4.3.11',
    };
    for (const [h, oid] of Object.entries(ecOids))
      for (const k of [ec256, ec384])
        cases.push([
          `ecdsa ${h}`,
          oid,
          k.publicKey,
          k.privateKey,
          sign(h, data, { key: k.privateKey, dsaEncoding: 'der' }),
        ]);
    for (const [h, salt] of [
      ['sha256', 32],
      ['sha256', 0],
      ['sha512', 64],
      ['sha1', 20],
    ] as const)
      cases.push([
        `pss ${h}/${salt}`,
        pss(h, salt),
        rsa.publicKey,
        rsa.privateKey,
        sign(h, data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt }),
      ]);
    cases.push([
      'pss bare OID (RFC 4055 defaults: SHA-1, salt 20)',
      '1.2.840.113549.1.1.10',
      rsa.publicKey,
      rsa.privateKey,
      sign('sha1', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }),
    ]);
    cases.push([
      'rsa-pss key',
      pss('sha384', 48),
      pssKey.publicKey,
      pssKey.privateKey,
      sign('sha384', data, {
        key: pssKey.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 48,
      }),
    ]);
    cases.push([
      'ed25519',
      '1.3.101.112',
      ed25519.publicKey,
      ed25519.privateKey,
      sign(null, data, ed25519.privateKey),
    ]);
    cases.push([
      'ed448',
      { oid: '1.3.101.113', name: 'Ed448' },
      ed448.publicKey,
      ed448.privateKey,
      sign(null, data, ed448.privateKey),
    ]);
    cases.push([
      'dsa sha256',
      '2.16.840.1.101.3.4.3.2',
      dsa.publicKey,
      dsa.privateKey,
      sign('sha256', data, { key: dsa.privateKey, dsaEncoding: 'der' }),
    ]);
    for (const [what, alg, pub, , sig] of cases) {
      assert.equal(verifySignature(spki(pub), alg, data, sig), true, what);
      assert.equal(verifySignature(spki(pub), alg, flip(data, 0), sig), false, `${what}: data`);
      assert.equal(
        verifySignature(spki(pub), alg, data, flip(sig, sig.length >> 1)),
        false,
        `${what}: signature`,
      );
      assert.equal(
        verifySignature(spki(pub), alg, data, sig.subarray(0, sig.length - 1)),
        false,
        `${what}: short`,
      );
      assert.equal(verifySignature(spki(pub), alg, data, new Uint8Array(0)), false, `${what}: empty`);
    }
  });

  test('CMS naming only the key type: the digest algorithm supplies the hash', () => {
    const rsaSig = sign('sha384', data, rsa.privateKey);
    assert.equal(
      verifyWithDigestAlg(spki(rsa.publicKey), '1.2.840.113549.1.1.1', 'sha384', data, rsaSig),
      true,
    );
    assert.equal(
      verifyWithDigestAlg(spki(rsa.publicKey), '1.2.840.113549.1.1.1', 'sha256', data, rsaSig),
      false,
    );
    const ecSig = sign('sha512', data, { key: ec256.privateKey, dsaEncoding: 'der' });
    assert.equal(
      verifyWithDigestAlg(spki(ec256.publicKey), '1.2.840.10045.2.1', 'sha512', data, ecSig),
      true,
    );
    // a hash named by the signature algorithm wins over the digest algorithm
    assert.equal(
      verifyWithDigestAlg(spki(ec256.publicKey), '1.2.840.10045.4.3.4', 'sha1', data, ecSig),
      true,
    );
    assert.throws(
      () => verifySignature(spki(rsa.publicKey), '1.2.840.113549.1.1.1', data, rsaSig),
      (e: unknown) =>
        e instanceof CoreError && e.code === 'KEY_UNSUPPORTED' && /needs a digest/.test(e.message),
    );
  });

  test('cross-checked with signatures from openssl dgst', needs('openssl'), () => {
    put('dgst.in', data);
    ossl('dgst', '-sha384', '-sign', 'p384.key', '-out', 'p384.sig', 'dgst.in');
    const p384 = parseCertificate(certs.get('p384')!);
    assert.equal(p384.publicKey.curve, 'P-384');
    const spkiOf = (name: string): Buffer => {
      ossl('pkey', '-in', `${name}.key`, '-pubout', '-outform', 'DER', '-out', `${name}.spki`);
      return file(`${name}.spki`);
    };
    assert.equal(verifySignature(spkiOf('p384'), '1.2.840.10045.4.3.3', data, file('p384.sig')), true);
    ossl(
      'dgst',
      '-sha256',
      '-sigopt',
      'rsa_padding_mode:pss',
      '-sigopt',
      'rsa_pss_saltlen:32',
      '-sign',
      'rsa.key',
      '-out',
      'rsa.sig',
      'dgst.in',
    );
    assert.equal(verifySignature(spkiOf('rsa'), pss('sha256', 32), data, file('rsa.sig')), true);
    assert.equal(verifySignature(spkiOf('rsa'), pss('sha256', 31), data, file('rsa.sig')), false);
    ossl('pkeyutl', '-sign', '-rawin', '-inkey', 'ed448.key', '-in', 'dgst.in', '-out', 'ed448.sig');
    assert.equal(verifySignature(spkiOf('ed448'), '1.3.101.113', data, file('ed448.sig')), true);
  });

  test('a key of another type does not verify; what cannot be checked is a coded error', () => {
    const rsaSig = sign('sha256', data, rsa.privateKey);
    assert.equal(verifySignature(spki(ec256.publicKey), '1.2.840.113549.1.1.11', data, rsaSig), false);
    assert.equal(verifySignature(spki(ed25519.publicKey), '1.2.840.10045.4.3.2', data, rsaSig), false);
    assert.equal(verifySignature(spki(pssKey.publicKey), '1.2.840.113549.1.1.11', data, rsaSig), false);
    const code = (f: () => unknown, c: string, re: RegExp): void =>
      assert.throws(
        f,
        (e: unknown) => e instanceof CoreError && e.code === c && re.test(e.message),
        re.source,
      );
    code(
      () => verifySignature(spki(rsa.publicKey), '1.2.3.4', data, rsaSig),
      'KEY_UNSUPPORTED',
      /1\.2\.3\.4 is not supported/,
    );
    code(
      () =>
        verifySignature(
          spki(rsa.publicKey),
          { oid: '1.2.156.10197.1.501', name: 'SM2-with-SM3' },
          data,
          rsaSig,
        ),
      'KEY_UNSUPPORTED',
      /SM2-with-SM3/,
    );
    const mixed: SignatureAlgorithm = {
      ...pss('sha256', 32),
      pss: { ...pss('sha256', 32).pss!, mgfHash: 'sha1' },
    };
    code(() => verifySignature(spki(rsa.publicKey), mixed, data, rsaSig), 'KEY_UNSUPPORTED', /MGF1/);
    code(
      () => verifySignature(Buffer.from('junk'), '1.2.840.113549.1.1.11', data, rsaSig),
      'KEY_MALFORMED',
      /SubjectPublicKeyInfo/,
    );
    code(
      () =>
        verifyWithDigestAlg(
          spki(rsa.publicKey),
          '1.2.840.113549.1.1.1',
          '2.16.840.1.101.3.4.2.99',
          data,
          rsaSig,
        ),
      'KEY_UNSUPPORTED',
      /not supported by node:crypto/,
    );
  });
});

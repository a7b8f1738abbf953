/**
 * Certificate parsing throughput: our reader against node:crypto and python3-cryptography.
 *
 *   npm run bench [-- --count 20000 --passes 5 --no-pin --keep --bundle FILE --engines ours,node,python]
 *
 * --bundle reuses a bundle written by an earlier --keep run; --engines picks which engines to time
 * (handy with `node --cpu-prof --import tsx bench/parse.ts --bundle FILE --engines ours`).
 *
 * Builds a PEM bundle of realistic certificates (RSA-2048, P-256, P-384 and Ed25519 subject keys;
 * SAN, KU, EKU, BC, SKI, AKI, CRL DP and AIA on each), writes it to a temporary file, then times
 * every engine over the same bytes: one warm-up pass, then the median of the timed passes. All work
 * runs in this one process on one thread; on Linux the process (and the Python peer) is pinned to
 * CPU 0 with taskset so helper threads cannot lend the parser a second core.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPemBlocks, pemBlocks } from '../packages/core/src/pem.ts';
import { parseCertificate, type Certificate } from '../packages/core/src/x509.ts';
import {
  buildCertificate,
  prng,
  signerFor,
  type ExtKeyUsageName,
  type KeyUsageName,
  type NameSpec,
  type SignatureScheme,
  type Signer,
} from '../packages/testkit/src/index.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  const v = i === -1 ? NaN : Number(args[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const COUNT = opt('count', 20_000);
const PASSES = opt('passes', 5);
const PIN = !args.includes('--no-pin');
const KEEP = args.includes('--keep');
const str = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const BUNDLE = str('bundle');
const ENGINES = new Set((str('engines') ?? 'ours,node,python').split(','));
const PYTHON = '/usr/bin/python3'; // Debian's interpreter: the one python3-cryptography installs into
const here = dirname(fileURLToPath(import.meta.url));

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// ---- pin to one core ----

let pinned = 'not pinned';
if (PIN && process.platform === 'linux') {
  const r = spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { encoding: 'utf8' });
  pinned = r.status === 0 ? 'pinned to CPU 0 (taskset -a)' : 'not pinned (taskset unavailable)';
}

// ---- build the bundle ----

type KeyKind = 'RSA-2048' | 'P-256' | 'P-384' | 'Ed25519';
const KINDS: readonly KeyKind[] = ['RSA-2048', 'P-256', 'P-384', 'Ed25519'];
interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}
const newKey = (k: KeyKind): KeyPair =>
  k === 'RSA-2048'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : k === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: k });

function buildBundle(count: number): {
  pem: string;
  mix: Record<string, number>;
  seconds: number;
  cas: number;
} {
  const t0 = performance.now();
  const rand = prng(20_000);
  const now = Date.UTC(2026, 0, 15);
  const DAY = 86_400_000;
  const org = [
    'Kestrel Vehicle Systems',
    'Alder Powertrain Electronics',
    'Birchway Telematics',
    'Cedar Infotainment',
  ];

  // A few issuing CAs (signing with EC P-256 and Ed25519 is fast; RSA and P-384 signers are used sparingly).
  interface Ca {
    signer: Signer;
    scheme?: SignatureScheme;
    slug: string;
    pem: string;
  }
  const ca = (slug: string, k: KeyPair, scheme?: SignatureScheme): Ca => {
    const name: NameSpec = [
      ['C', 'DE'],
      ['O', 'Kestrel Vehicle Systems'],
      ['OU', 'Bench PKI'],
      ['CN', `Bench ${slug} CA`],
    ];
    const cert = buildCertificate({
      subject: name,
      publicKey: k.publicKey,
      privateKey: k.privateKey,
      notBefore: new Date(now - 900 * DAY),
      notAfter: new Date(now + 3650 * DAY),
      ...(scheme && { signature: scheme }),
      extensions: { basicConstraints: { ca: true, pathLen: 0 }, keyUsage: ['keyCertSign', 'cRLSign'] },
    });
    return { signer: signerFor(name, k.privateKey, cert), slug, pem: cert.pem, ...(scheme && { scheme }) };
  };
  const rsaCaKey = newKey('RSA-2048'); // one RSA key behind both RSA CAs: RSA key generation is slow
  const caP256 = ca('p256', newKey('P-256'));
  const caEd = ca('ed25519', newKey('Ed25519'));
  const caRsa = ca('rsa', rsaCaKey);
  const caPss = ca('rsa-pss', rsaCaKey, 'rsa-pss-sha256');
  const caP384 = ca('p384', newKey('P-384'));
  const pickCa = (r: number): Ca =>
    r < 50 ? caP256 : r < 95 ? caEd : r < 97 ? caRsa : r < 98 ? caPss : caP384; // percent weights 50/45/2/1/2

  // Subject keys: a few of each kind, reused (key generation is the slow part).
  const subjectKeys: Record<KeyKind, KeyObject[]> = {
    'RSA-2048': [newKey('RSA-2048').publicKey, newKey('RSA-2048').publicKey],
    'P-256': [0, 1, 2, 3].map(() => newKey('P-256').publicKey),
    'P-384': [0, 1].map(() => newKey('P-384').publicKey),
    Ed25519: [0, 1, 2, 3].map(() => newKey('Ed25519').publicKey),
  };
  const kuFor: Record<KeyKind, KeyUsageName[]> = {
    'RSA-2048': ['digitalSignature', 'keyEncipherment'],
    'P-256': ['digitalSignature', 'keyAgreement'],
    'P-384': ['digitalSignature'],
    Ed25519: ['digitalSignature'],
  };
  const ekus: ExtKeyUsageName[][] = [
    ['serverAuth'],
    ['serverAuth', 'clientAuth'],
    ['clientAuth'],
    ['codeSigning'],
  ];

  const mix: Record<string, number> = {};
  const parts: string[] = [caP256.pem, caEd.pem, caRsa.pem, caPss.pem, caP384.pem];
  for (let i = 0; parts.length < count; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const keys = subjectKeys[kind];
    const issuer = pickCa(rand() % 100);
    const host = `unit-${i.toString(36)}.${issuer.slug}.fleet.kestrel-vs.example`;
    const o = org[rand() % org.length]!;
    const start = now - (1 + (rand() % 700)) * DAY;
    const days = rand() % 10 === 0 ? 9000 + (rand() % 3000) : 90 + (rand() % 1000); // some past 2050
    const hw = `KVS-${(100000 + i).toString()}`;
    const san =
      i % 3 === 0
        ? {
            dns: [host, `alt-${i}.kestrel-vs.example`],
            ip: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
          }
        : i % 3 === 1
          ? { dns: [host], uri: [`urn:kestrel-vs:device:${hw}`] }
          : { dns: [host], email: [`ops+${i}@kestrel-vs.example`] };
    const cert = buildCertificate({
      subject: [
        ['C', 'DE'],
        ['O', o],
        ['OU', i % 2 ? 'Telematics' : 'Connected Services'],
        ['CN', host],
        ['serialNumber', hw],
      ],
      publicKey: keys[i % keys.length]!,
      issuer: issuer.signer,
      ...(issuer.scheme && { signature: issuer.scheme }),
      serial: BigInt(i + 1) * 0x9e3779b97f4a7c15n + BigInt(rand()),
      notBefore: new Date(start),
      notAfter: new Date(start + days * DAY),
      extensions: {
        basicConstraints: { ca: false },
        keyUsage: kuFor[kind],
        extKeyUsage: ekus[rand() % ekus.length]!,
        subjectAltName: san,
        crlDistributionPoints: [`http://pki.kestrel-vs.example/crl/${issuer.slug}.crl`],
        authorityInfoAccess: {
          ocsp: ['http://ocsp.kestrel-vs.example'],
          caIssuers: [`http://pki.kestrel-vs.example/certs/${issuer.slug}.crt`],
        },
      },
    });
    mix[`${kind} key / ${cert.signature}`] = (mix[`${kind} key / ${cert.signature}`] ?? 0) + 1;
    parts.push(cert.pem);
  }
  return { pem: parts.join(''), mix, seconds: (performance.now() - t0) / 1000, cas: 5 };
}

// ---- engines ----

let sink = 0; // results feed this so no engine's work can be optimised away

/** Read every field of our Certificate (the parse is eager; this only makes the use explicit). */
function touchOurs(c: Certificate): number {
  let acc = c.version + c.serial.length + c.subject.text.length + c.issuer.text.length;
  acc += c.notBefore + c.notAfter + c.sha256.length + c.sha1.length + c.signatureAlgorithm.name.length;
  acc +=
    c.publicKey.algorithm.length +
    (c.publicKey.size ?? 0) +
    (c.publicKey.curve?.length ?? 0) +
    c.publicKey.keyId.length;
  acc += (c.selfIssued ? 1 : 0) + (c.selfSigned ? 1 : 0) + (c.basicConstraints?.ca ? 1 : 0);
  acc +=
    (c.ski?.length ?? 0) + (c.aki?.length ?? 0) + (c.keyUsage?.length ?? 0) + (c.extKeyUsage?.length ?? 0);
  for (const n of c.subjectAltNames ?? []) acc += n.value.length;
  for (const e of c.extensions)
    acc += e.name.length + (e.critical ? 1 : 0) + (e.value ? 1 : 0) + (e.raw?.length ?? 0);
  return acc;
}

function passOurs(bundle: Buffer): number {
  let n = 0;
  let acc = 0;
  for (const b of pemBlocks(bundle)) {
    if (b.label !== 'CERTIFICATE' || b.error) continue;
    acc += touchOurs(parseCertificate(b.der));
    n++;
  }
  sink = (sink + acc) % 1e9;
  return n;
}

const END = '-----END CERTIFICATE-----';
function passNode(bundle: Buffer): number {
  const text = bundle.toString('latin1');
  let n = 0;
  let acc = 0;
  let pos = 0;
  for (;;) {
    const b = text.indexOf('-----BEGIN CERTIFICATE-----', pos);
    if (b === -1) break;
    const e = text.indexOf(END, b);
    if (e === -1) break;
    pos = e + END.length;
    const x = new X509Certificate(text.slice(b, pos));
    acc += x.subject.length + x.issuer.length + x.validFrom.length + x.validTo.length + x.serialNumber.length;
    acc += x.fingerprint256.length + x.fingerprint.length + (x.subjectAltName?.length ?? 0);
    acc += (x.keyUsage?.length ?? 0) + (x.ca ? 1 : 0) + (x.infoAccess?.length ?? 0);
    const pk = x.publicKey;
    const d = pk.asymmetricKeyDetails;
    acc += (pk.asymmetricKeyType?.length ?? 0) + (d?.modulusLength ?? 0) + (d?.namedCurve?.length ?? 0);
    n++;
  }
  sink = (sink + acc) % 1e9;
  return n;
}

function measure(name: string, pass: () => number, expected: number): number {
  const warm = pass();
  if (warm !== expected) throw new Error(`${name} parsed ${warm} certificates, expected ${expected}`);
  const times: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    const t0 = performance.now();
    const n = pass();
    times.push((performance.now() - t0) / 1000);
    if (n !== expected) throw new Error(`${name} parsed ${n} certificates, expected ${expected}`);
  }
  console.log(`  ${name}: passes ${times.map((t) => t.toFixed(3)).join(' ')} s`);
  return expected / median(times);
}

interface PythonResult {
  engine: string;
  certs_per_s: number;
  certs: number;
  loader: string;
  passes_s: number[];
}

function measurePython(file: string, expected: number): PythonResult | string {
  const cmd = PIN && pinned.startsWith('pinned') ? 'taskset' : PYTHON;
  const pre = cmd === 'taskset' ? ['-c', '0', PYTHON] : [];
  const r = spawnSync(cmd, [...pre, join(here, 'parse_cryptography.py'), file, String(PASSES)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.error) return `python3-cryptography not measured: ${PYTHON} could not run (${r.error.message})`;
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  let parsed: (PythonResult & { error?: string }) | undefined;
  try {
    parsed = JSON.parse(line) as PythonResult & { error?: string };
  } catch {
    parsed = undefined;
  }
  if (parsed?.error) return parsed.error;
  if (r.status !== 0 || !parsed)
    return `python3-cryptography failed (exit ${r.status}): ${r.stderr.trim().slice(-400)}`;
  if (parsed.certs !== expected)
    return `python3-cryptography parsed ${parsed.certs} certificates, expected ${expected}`;
  return parsed;
}

// ---- run ----

console.log(
  `keywarden parse benchmark: node ${process.version}, ${pinned}, ${PASSES} timed passes after 1 warm-up`,
);
let file: string;
let dir: string | undefined;
if (BUNDLE) file = BUNDLE;
else {
  const built = buildBundle(COUNT);
  dir = mkdtempSync(join(tmpdir(), 'keywarden-bench-'));
  file = join(dir, 'bundle.pem');
  writeFileSync(file, built.pem);
  console.log(`built ${fmt(COUNT)} certificates (${built.cas} CAs) in ${built.seconds.toFixed(1)} s:`);
  for (const [k, v] of Object.entries(built.mix).sort()) console.log(`  ${k.padEnd(38)} ${fmt(v)}`);
}
const bundle = readFileSync(file);
const total = findPemBlocks(bundle).filter((b) => b.label === 'CERTIFICATE').length;
console.log(`bundle: ${fmt(total)} certificates, ${(bundle.length / 1048576).toFixed(1)} MiB -> ${file}`);

console.log('timing:');
const ours = measure('ours', () => passOurs(bundle), total);
const node = ENGINES.has('node') ? measure('node:crypto', () => passNode(bundle), total) : undefined;
const py = ENGINES.has('python')
  ? measurePython(file, total)
  : 'python3-cryptography not measured: skipped by --engines';
if (typeof py !== 'string')
  console.log(`  ${py.engine}: passes ${py.passes_s.map((t) => t.toFixed(3)).join(' ')} s (${py.loader})`);

const rows: [string, number][] = [['ours (pemBlocks + parseCertificate)', ours]];
if (node !== undefined) rows.push(['node:crypto X509Certificate', node]);
if (typeof py !== 'string') rows.push([py.engine, py.certs_per_s]);
console.log('');
console.log(`${'engine'.padEnd(42)} ${'certs/s'.padStart(10)}  ${'ours / engine'.padStart(13)}`);
for (const [name, rate] of rows)
  console.log(`${name.padEnd(42)} ${fmt(rate).padStart(10)}  ${(ours / rate).toFixed(2).padStart(12)}x`);
if (typeof py === 'string') console.log(py);

const fastEnough = ours >= 100_000;
const vsPython = typeof py === 'string' ? undefined : ours / py.certs_per_s;
const met = fastEnough && vsPython !== undefined && vsPython >= 10;
console.log('');
console.log(
  `target: >= 100,000 certs/s on one core and >= 10x python3-cryptography: ${met ? 'MET' : 'NOT MET'}` +
    ` (${fmt(ours)} certs/s; ${vsPython === undefined ? 'python3-cryptography not measured' : `${vsPython.toFixed(1)}x python3-cryptography`})`,
);
if (sink < 0) console.log(sink); // keeps `sink` observable
if (dir && KEEP) console.log(`kept ${file}`);
else if (dir) rmSync(dir, { recursive: true, force: true });

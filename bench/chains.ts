/**
 * Chain validation at fleet scale: N device certificates under root -> intermediate, each validated
 * by RFC 5280 path building and validation (parse included) on one thread, beside `openssl verify`
 * over a sample of the same certificates in the same run.
 *
 *   npm run bench:chains [-- --leaves 1000000 --sample 2000 --curve p256|ed25519]
 *
 * Leaves are generated and validated in chunks so memory stays flat; only validation is timed.
 * Every leaf has its own signature, so the signature cache saves the intermediate's check per leaf,
 * not the leaf's own.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertIndex, SignatureCache, validateBest, type CertInput } from '../packages/analyze/src/index.ts';
import { parseCertificate } from '../packages/core/src/x509.ts';
import { buildCertificate, signerFor, type NameSpec } from '../packages/testkit/src/index.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : (args[i + 1] ?? dflt);
};
const LEAVES = Number(process.env.KEYWARDEN_BENCH_LEAVES ?? opt('leaves', '1000000'));
const SAMPLE = Number(opt('sample', '2000'));
const CURVE = opt('curve', 'p256') as 'p256' | 'ed25519';
const CHUNK = 20_000;

const keyPair = (): { privateKey: KeyObject; publicKey: KeyObject } =>
  CURVE === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2041-01-01T00:00:00Z');
const at = Date.parse('2030-06-01T00:00:00Z');
const rootName: NameSpec = [
  ['O', 'Bench OEM'],
  ['CN', 'Bench Root CA'],
];
const interName: NameSpec = [
  ['O', 'Bench OEM'],
  ['CN', 'Bench Device CA 1'],
];
const rootKey = keyPair();
const interKey = keyPair();
const deviceKey = keyPair();
const ca = { basicConstraints: { ca: true }, keyUsage: ['keyCertSign', 'cRLSign'] } as const;
const root = buildCertificate({
  subject: rootName,
  publicKey: rootKey.publicKey,
  privateKey: rootKey.privateKey,
  notBefore,
  notAfter,
  extensions: ca,
});
const inter = buildCertificate({
  subject: interName,
  publicKey: interKey.publicKey,
  issuer: signerFor(rootName, rootKey.privateKey, root),
  notBefore,
  notAfter,
  extensions: ca,
});
const interSigner = signerFor(interName, interKey.privateKey, inter);
const input = (der: Buffer): CertInput => ({ der, cert: parseCertificate(der) });

function leaves(from: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = from; i < from + count; i++)
    out.push(
      buildCertificate({
        subject: [
          ['O', 'Bench OEM'],
          ['serialNumber', `VIN${String(i).padStart(9, '0')}`],
          ['CN', `ECU ${i}`],
        ],
        publicKey: deviceKey.publicKey,
        issuer: interSigner,
        serial: i + 1,
        notBefore,
        notAfter,
        extensions: {
          basicConstraints: { ca: false },
          keyUsage: ['digitalSignature'],
          extKeyUsage: ['clientAuth'],
        },
      }).der,
    );
  return out;
}

const index = new CertIndex([input(inter.der)], [input(root.der)]);
const cache = new SignatureCache();
let genMs = 0;
let validateMs = 0;
let valid = 0;
let sample: Buffer[] = [];
for (let done = 0; done < LEAVES; done += CHUNK) {
  const n = Math.min(CHUNK, LEAVES - done);
  let t = performance.now();
  const chunk = leaves(done, n);
  genMs += performance.now() - t;
  if (done === 0) sample = chunk.slice(0, SAMPLE);
  t = performance.now();
  for (const der of chunk)
    if (validateBest(input(der), index, { at, purpose: 'client-auth', signatureCache: cache }).valid) valid++;
  validateMs += performance.now() - t;
}
if (valid !== LEAVES) throw new Error(`only ${valid} of ${LEAVES} leaves validated`);

// Peer: openssl verify over the sample, many leaves per invocation, same root and intermediate.
const dir = mkdtempSync(join(tmpdir(), 'kw-bench-chains-'));
let peerPerSec: number;
try {
  writeFileSync(join(dir, 'root.pem'), root.pem);
  writeFileSync(join(dir, 'inter.pem'), inter.pem);
  const files = sample.map((der, i) => {
    const f = join(dir, `l${i}.der.pem`);
    writeFileSync(
      f,
      `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`,
    );
    return f;
  });
  const t = performance.now();
  for (let i = 0; i < files.length; i += 500)
    execFileSync(
      'openssl',
      [
        'verify',
        '-CAfile',
        join(dir, 'root.pem'),
        '-untrusted',
        join(dir, 'inter.pem'),
        '-attime',
        String(at / 1000),
        ...files.slice(i, i + 500),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  peerPerSec = files.length / ((performance.now() - t) / 1000);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const oursPerSec = LEAVES / (validateMs / 1000);
const projected = 1_000_000 / oursPerSec;
console.log(
  `chain validation, ${LEAVES.toLocaleString('en')} ${CURVE} device certificates under root -> intermediate, one thread`,
);
console.log(`  generation (not timed in the figure): ${(genMs / 1000).toFixed(1)} s`);
console.log(
  `  ours:          ${Math.round(oursPerSec).toLocaleString('en').padStart(9)} leaves/s  (${(validateMs / 1000).toFixed(1)} s, parse + build + validate)`,
);
console.log(
  `  openssl verify:${Math.round(peerPerSec).toLocaleString('en').padStart(9)} leaves/s  (${sample.length} leaves, 500 per invocation)`,
);
console.log(
  `  ratio ours/openssl: ${(oursPerSec / peerPerSec).toFixed(2)}x; projected 1,000,000 leaves: ${projected.toFixed(1)} s (target < 60 s: ${projected < 60 ? 'met' : 'NOT met'})`,
);

/**
 * TPM EK and platform certificates as swtpm (Debian swtpm, swtpm-tools) manufactures them: a real
 * `swtpm_setup` run with a throw-away local CA in a temporary directory, cross-checked with openssl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { hasTool, needTools, opensslSigner } from '@keywarden/testkit';
import { CoreError } from './error.ts';
import { isSwtpmState, nvCertificateRange, parseSwtpmState, tpmIdentity } from './tpm.ts';
import { verifySignature } from './verify.ts';
import { parseCertificate } from './x509.ts';

let dir = '';
let state = Buffer.alloc(0);
let ekRsa = Buffer.alloc(0);
let ekEcc = Buffer.alloc(0);

/** Run swtpm_setup with config files of our own, so nothing under /etc or /var is touched. */
function manufacture(): void {
  const ca = join(dir, 'ca');
  const tpm = join(dir, 'state');
  const out = join(dir, 'out');
  for (const d of [ca, tpm, out]) mkdirSync(d);
  writeFileSync(
    join(dir, 'swtpm_setup.conf'),
    `create_certs_tool = /usr/bin/swtpm_localca\n` +
      `create_certs_tool_config = ${join(dir, 'swtpm-localca.conf')}\n` +
      `create_certs_tool_options = ${join(dir, 'swtpm-localca.options')}\n` +
      `active_pcr_banks = sha256\n`,
  );
  writeFileSync(
    join(dir, 'swtpm-localca.conf'),
    `statedir = ${ca}\nsigningkey = ${join(ca, 'signkey.pem')}\n` +
      `issuercert = ${join(ca, 'issuercert.pem')}\ncertserial = ${join(ca, 'certserial')}\n`,
  );
  writeFileSync(
    join(dir, 'swtpm-localca.options'),
    '--platform-manufacturer Keywarden\n--platform-version 2.1\n--platform-model KW-TEST\n',
  );
  execFileSync(
    'swtpm_setup',
    [
      '--tpm2',
      '--tpmstate',
      tpm,
      '--create-ek-cert',
      '--create-platform-cert',
      '--lock-nvram',
      '--overwrite',
      '--config',
      join(dir, 'swtpm_setup.conf'),
      '--write-ek-cert-files',
      out,
    ],
    { stdio: 'ignore' },
  );
  state = readFileSync(join(tpm, 'tpm2-00.permall'));
  ekRsa = readFileSync(join(out, 'ek-rsa2048.crt'));
  ekEcc = readFileSync(join(out, 'ek-secp384r1.crt'));
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-tpm-'));
  if (hasTool('swtpm_setup') && hasTool('openssl')) manufacture();
});

after(() => rmSync(dir, { recursive: true, force: true }));

function opensslText(der: Uint8Array): string {
  return execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-text'], { input: der }).toString();
}

/** Key identity as openssl computes it: SHA-256 of the SPKI DER it extracts from the certificate. */
function opensslKeyId(der: Uint8Array, inform = 'DER'): string {
  const pem = execFileSync('openssl', ['x509', '-inform', inform, '-noout', '-pubkey'], { input: der });
  const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem });
  return createHash('sha256').update(spki).digest('hex');
}

function issuerSpki(): Buffer {
  const pem = execFileSync('openssl', [
    'x509',
    '-noout',
    '-pubkey',
    '-in',
    join(dir, 'ca', 'issuercert.pem'),
  ]);
  return execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem });
}

/** The DirName attributes openssl prints for the subjectAltName, e.g. 2.23.133.2.2 -> swtpm. */
function opensslDirName(der: Uint8Array): Map<string, string> {
  const line = /DirName:(\S+)/.exec(opensslText(der))?.[1] ?? '';
  const out = new Map<string, string>();
  for (const part of line.split('/').filter(Boolean)) {
    const eq = part.indexOf('=');
    out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

describe('swtpm state file', () => {
  test('finds the EK and platform certificates under their NV indices', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    assert.equal(isSwtpmState(state), true);
    const s = parseSwtpmState(state);
    assert.equal(s.encrypted, false);
    assert.deepEqual(
      s.certificates.map((c) => [c.handle.toString(16), c.kind]),
      [
        ['1c00002', 'ek'],
        ['1c08000', 'platform'],
        ['1c00016', 'ek'],
      ],
    );
    const [rsa, platform, ecc] = s.certificates;
    assert.deepEqual(state.subarray(rsa!.start, rsa!.end), ekRsa);
    assert.deepEqual(state.subarray(ecc!.start, ecc!.end), ekEcc);
    assert.ok(platform!.end > platform!.start);
  });

  test('EK key identity equals what openssl derives from the certificate', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    for (const der of [ekRsa, ekEcc]) {
      const cert = parseCertificate(der);
      assert.equal(cert.publicKey.keyId, opensslKeyId(der));
    }
    assert.equal(parseCertificate(ekRsa).publicKey.size, 2048);
    assert.equal(parseCertificate(ekEcc).publicKey.size, 384);
  });

  test('EK certificate signature verifies against the local CA; a tampered byte does not', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    const spki = issuerSpki();
    const cert = parseCertificate(ekRsa);
    const tbs = ekRsa.subarray(cert.tbs.start, cert.tbs.end);
    const sig = ekRsa.subarray(cert.signature.start, cert.signature.end);
    assert.equal(verifySignature(spki, cert.signatureAlgorithm, tbs, sig), true);
    const bad = Buffer.from(tbs);
    bad[bad.length - 40]! ^= 0x01;
    assert.equal(verifySignature(spki, cert.signatureAlgorithm, bad, sig), false);
  });

  test('a lying or truncated state file is a coded error naming the offset', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    assert.throws(
      () => parseSwtpmState(state.subarray(0, 3000)),
      (e) => e instanceof CoreError && /total length \d+ at offset 6/.test(e.message),
    );
    const lying = Buffer.from(state);
    lying.writeUInt32BE(state.length, 12); // the first section claims more than the file holds
    assert.throws(
      () => parseSwtpmState(lying),
      (e) => e instanceof CoreError && /at offset 10 overruns/.test(e.message),
    );
    assert.throws(() => parseSwtpmState(state.subarray(0, 4)), CoreError);
    assert.equal(isSwtpmState(state.subarray(0, 3000)), false);
  });

  test('mutated and truncated state files fail only with CoreError', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    fc.assert(
      fc.property(
        fc.nat({ max: state.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.nat({ max: state.length }),
        (at, x, cut) => {
          const b = Buffer.from(state.subarray(0, Math.max(cut, at + 1)));
          b[at]! ^= x;
          // A shortened file keeps a consistent header so the section walk itself is exercised.
          if (b.length >= 10) b.writeUInt32BE(b.length, 6);
          try {
            const s = parseSwtpmState(b);
            for (const c of s.certificates) assert.ok(c.start >= 0 && c.end <= b.length);
          } catch (e) {
            assert.ok(e instanceof CoreError, String(e));
          }
          assert.doesNotThrow(() => nvCertificateRange(b));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('an encrypted state is recognised but yields no certificates', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    const enc = Buffer.from(state);
    enc.writeUInt16BE(0x0001, 4);
    const s = parseSwtpmState(enc);
    assert.equal(s.encrypted, true);
    assert.equal(s.certificates.length, 0);
  });
});

describe('tpmIdentity', () => {
  test('decodes the TPM manufacturer, model and version swtpm wrote', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    for (const der of [ekRsa, ekEcc]) {
      const want = opensslDirName(der);
      assert.deepEqual(tpmIdentity(parseCertificate(der)), {
        manufacturer: want.get('2.23.133.2.1'),
        model: want.get('2.23.133.2.2'),
        version: want.get('2.23.133.2.3'),
        ek: true,
        platform: false,
      });
      assert.equal(want.get('2.23.133.2.2'), 'swtpm');
    }
  });

  test('decodes the platform certificate from the local CA options', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    const p = parseSwtpmState(state).certificates.find((c) => c.kind === 'platform')!;
    const der = state.subarray(p.start, p.end);
    const want = opensslDirName(der);
    assert.equal(want.get('2.23.133.5.1.4'), 'KW-TEST');
    assert.deepEqual(tpmIdentity(parseCertificate(der)), {
      manufacturer: 'Keywarden',
      model: 'KW-TEST',
      version: '2.1',
      ek: false,
      platform: true,
    });
  });

  test('an ordinary certificate is not a TPM certificate', (t) => {
    if (!needTools(t, 'openssl')) return;
    const c = opensslSigner(dir, 'plain', 'Keywarden plain', {
      der: true,
      newkey: 'ec',
      pkeyopt: 'ec_paramgen_curve:P-256',
    });
    assert.equal(tpmIdentity(parseCertificate(readFileSync(c.cert))), undefined);
  });
});

describe('NV index dump', () => {
  test('a certificate with zero padding is found; other tails are not', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    const padded = Buffer.concat([ekRsa, Buffer.alloc(1500 - ekRsa.length)]);
    assert.deepEqual(nvCertificateRange(padded), { start: 0, end: ekRsa.length });
    assert.deepEqual(nvCertificateRange(ekRsa), { start: 0, end: ekRsa.length });
    assert.deepEqual(nvCertificateRange(Buffer.concat([ekEcc, Buffer.alloc(64, 0xff)])), {
      start: 0,
      end: ekEcc.length,
    });
    const junk = Buffer.from(padded);
    junk[ekRsa.length + 10] = 0x41;
    assert.equal(nvCertificateRange(junk), undefined);
    assert.equal(nvCertificateRange(ekRsa.subarray(0, 500)), undefined);
    assert.equal(nvCertificateRange(state), undefined);
  });
});

/**
 * detectSigstore over bundles and DSSE envelopes the testkit signs with keys and certificates made
 * by `openssl req`; key identities are compared with `openssl x509 -pubkey | openssl pkey -outform DER`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildDsseEnvelope,
  buildSigstoreBundle,
  hasTool,
  inTotoStatement,
  needTools,
  opensslSigner,
} from '@keywarden/testkit';
import type { SignatureSummary } from '@keywarden/core';
import type { Detected } from '../detect.ts';
import { detectSigstore } from './sigstore.ts';

interface Signer {
  key: KeyObject;
  certDer: Buffer;
  spki: Buffer;
  keyId: string;
  certSha256: string;
}

let dir = '';
const signers: Record<string, Signer> = {};
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-sigstore-scan-'));
  if (!hasTool('openssl')) return;
  for (const [name, spec] of Object.entries({
    p256: { newkey: 'ec', pkeyopt: 'ec_paramgen_curve:P-256' },
    other: { newkey: 'ec', pkeyopt: 'ec_paramgen_curve:P-256' },
  })) {
    const s = opensslSigner(dir, name, `fulcio leaf ${name}`, { ...spec, der: true });
    const pem = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', s.cert, '-pubkey', '-noout']);
    const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem });
    const certDer = readFileSync(s.cert);
    signers[name] = {
      key: createPrivateKey(readFileSync(s.key)),
      certDer,
      spki,
      keyId: execFileSync('sha256sum', { input: spki }).toString().slice(0, 64),
      certSha256: execFileSync('openssl', [
        'x509',
        '-inform',
        'DER',
        '-in',
        s.cert,
        '-noout',
        '-fingerprint',
        '-sha256',
      ])
        .toString()
        .split('=')[1]!
        .trim()
        .replaceAll(':', '')
        .toLowerCase(),
    };
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

const firmware = Buffer.from('gateway firmware 7.1\n'.repeat(40));

function signatures(found: Detected[]): SignatureSummary[] {
  return found.flatMap((o) => (o.type === 'signature' ? [o.signature] : []));
}

function dsseBundle(version: '0.1' | '0.2' | '0.3', s: Signer, tlog = 0): Buffer {
  return buildSigstoreBundle({
    version,
    key: s.key,
    certificates: [s.certDer],
    dsse: {
      payloadType: 'application/vnd.in-toto+json',
      payload: inTotoStatement([{ name: 'gw.bin', bytes: firmware }]),
    },
    tlogEntries: tlog,
  });
}

/** Re-serialise a bundle after changing its decoded DSSE payload. */
function tamperPayload(buf: Buffer): Buffer {
  const b = JSON.parse(buf.toString()) as { dsseEnvelope: { payload: string } };
  const p = Buffer.from(b.dsseEnvelope.payload, 'base64');
  p[p.indexOf('gw.bin')] = 0x47; // 'g' -> 'G'
  b.dsseEnvelope.payload = p.toString('base64');
  return Buffer.from(JSON.stringify(b));
}

describe('detectSigstore', () => {
  for (const version of ['0.1', '0.2', '0.3'] as const) {
    test(`v${version} bundle: certificate, signer and a valid DSSE signature`, (t) => {
      if (!needTools(t, 'openssl', 'sha256sum')) return;
      const s = signers['p256']!;
      const buf = dsseBundle(version, s, 1);
      const found = detectSigstore(buf);
      const certs = found.filter((o) => o.type === 'certificate');
      assert.equal(certs.length, 1);
      const c = certs[0]!;
      assert.equal(c.cert.publicKey.keyId, s.keyId);
      assert.equal(c.cert.sha256, s.certSha256);
      assert.equal(c.encoding, 'json');
      assert.equal(
        buf.toString('latin1', c.offset, c.offset + 16),
        s.certDer.toString('base64').slice(0, 16),
      );
      const [sig, ...rest] = signatures(found);
      assert.equal(rest.length, 0);
      assert.equal(sig!.format, 'sigstore-bundle');
      assert.equal(sig!.status, 'valid', sig!.reason);
      assert.equal(sig!.signer.keyId, s.keyId);
      assert.equal(sig!.signer.certificate, s.certSha256);
      assert.equal(sig!.signer.curve, 'P-256');
      assert.equal(sig!.signatureAlgorithm, 'ecdsa-with-SHA256');
      assert.deepEqual(sig!.certificates, [s.certSha256]);
      assert.deepEqual(sig!.artifact, { sha256: sha256(firmware), format: 'in-toto-subject', size: 0 });
      assert.equal(sig!.countersignatures.length, 1);
      assert.equal(sig!.countersignatures[0]!.status, 'unverified');
      assert.equal(sig!.countersignatures[0]!.at, 1_700_000_000_000);
    });
  }

  test('a tampered payload is invalid', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const [sig] = signatures(detectSigstore(tamperPayload(dsseBundle('0.2', signers['p256']!))));
    assert.equal(sig!.status, 'invalid');
    assert.match(sig!.reason!, /does not verify/);
  });

  test('a bundle signed by another key than its certificate is invalid', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const buf = buildSigstoreBundle({
      version: '0.3',
      key: signers['other']!.key,
      certificates: [signers['p256']!.certDer],
      dsse: { payloadType: 'text/plain', payload: Buffer.from('hello') },
    });
    const [sig] = signatures(detectSigstore(buf));
    assert.equal(sig!.status, 'invalid');
    assert.equal(sig!.signer.keyId, signers['p256']!.keyId);
    // Not in-toto: the payload itself stands for the artifact.
    assert.deepEqual(sig!.artifact, { sha256: sha256(Buffer.from('hello')), format: 'text/plain', size: 5 });
  });

  test('a bare DSSE envelope: unverified without a key, valid or invalid with one', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const buf = Buffer.from(
      JSON.stringify(
        buildDsseEnvelope({
          payloadType: 'application/vnd.in-toto+json',
          payload: inTotoStatement([{ name: 'gw.bin', bytes: firmware }], { version: 'v0.1' }),
          signers: [{ key: signers['p256']!.key, keyid: 'release' }],
        }),
      ),
    );
    const [none] = signatures(detectSigstore(buf));
    assert.equal(none!.format, 'dsse');
    assert.equal(none!.status, 'unverified');
    const [good] = signatures(detectSigstore(buf, { spki: signers['p256']!.spki }));
    assert.equal(good!.status, 'valid');
    assert.equal(good!.signer.keyId, signers['p256']!.keyId);
    assert.equal(good!.artifact.sha256, sha256(firmware));
    const [bad] = signatures(detectSigstore(buf, { spki: signers['other']!.spki }));
    assert.equal(bad!.status, 'invalid');
  });

  test('messageSignature is unverified without the artifact and valid with it', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const s = signers['p256']!;
    const buf = buildSigstoreBundle({
      version: '0.1',
      key: s.key,
      certificates: [s.certDer],
      artifact: firmware,
    });
    const [sig] = signatures(detectSigstore(buf));
    assert.equal(sig!.status, 'unverified');
    assert.equal(sig!.digest, sha256(firmware));
    assert.equal(sig!.artifact.sha256, sha256(firmware));
    const [checked] = signatures(detectSigstore(buf, { artifact: firmware }));
    assert.equal(checked!.status, 'valid', checked!.reason);
    const [swapped] = signatures(detectSigstore(buf, { artifact: Buffer.from('other') }));
    assert.equal(swapped!.status, 'invalid');
  });

  test('a publicKey hint bundle names what is missing', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const buf = buildSigstoreBundle({
      version: '0.2',
      key: signers['p256']!.key,
      dsse: { payloadType: 'text/plain', payload: Buffer.from('x') },
    });
    const [sig] = signatures(detectSigstore(buf));
    assert.equal(sig!.status, 'unverified');
    assert.match(sig!.reason!, /hint/);
  });

  test('truncated or garbage JSON is unparseable with a reason; other bytes give nothing', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const buf = dsseBundle('0.3', signers['p256']!);
    for (const n of [buf.length - 1, Math.floor(buf.length / 2), 60]) {
      const found = detectSigstore(buf.subarray(0, n));
      assert.equal(found.length, 1);
      const o = found[0]!;
      assert.equal(o.type, 'unparseable');
      if (o.type === 'unparseable') {
        assert.equal(o.format, 'sigstore');
        assert.match(o.reason, /not JSON/);
      }
    }
    const bad = detectSigstore(Buffer.from('{"payloadType":"x","payload":"@@","signatures":[]}'));
    assert.equal(bad[0]?.type === 'unparseable' && bad[0].reason, 'sigstore: envelope.payload is not base64');
    assert.deepEqual(detectSigstore(firmware), []);
    assert.deepEqual(detectSigstore(Buffer.from('{"keys":[]}')), []);
  });

  test('a broken certificate is one unparseable observation and leaves the signature unverified', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const b = JSON.parse(dsseBundle('0.3', signers['p256']!).toString()) as {
      verificationMaterial: { certificate: { rawBytes: string } };
    };
    b.verificationMaterial.certificate.rawBytes = Buffer.from('not a certificate').toString('base64');
    const found = detectSigstore(Buffer.from(JSON.stringify(b)));
    assert.equal(found[0]?.type, 'unparseable');
    const [sig] = signatures(found);
    assert.equal(sig!.status, 'unverified');
  });
});

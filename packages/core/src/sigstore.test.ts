/**
 * Sigstore bundles and DSSE envelopes from the testkit builder, signed with keys and certificates
 * made by `openssl req`; signatures are cross-checked with `openssl dgst -verify` over the PAE.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  buildDsseEnvelope,
  buildSigstoreBundle,
  hasTool,
  inTotoStatement,
  needTools,
  opensslSigner,
  SIGSTORE_MEDIA_TYPES,
  type SigstoreBundleVersion,
} from '@keywarden/testkit';
import { CoreError } from './error.ts';
import {
  dssePae,
  IN_TOTO_PAYLOAD_TYPE,
  isSigstore,
  parseInToto,
  parseSigstore,
  verifyDsse,
  verifyMessageSignature,
  type DsseEnvelope,
  type SigstoreBundle,
} from './sigstore.ts';

interface Signer {
  key: KeyObject;
  certDer: Buffer;
  spki: Buffer;
  pubPem: string;
}

let dir = '';
const signers: Record<string, Signer> = {};
const SPECS: Record<string, { newkey: string; pkeyopt?: string }> = {
  p256: { newkey: 'ec', pkeyopt: 'ec_paramgen_curve:P-256' },
  ed25519: { newkey: 'ed25519' },
  rsa: { newkey: 'rsa:2048' },
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-sigstore-'));
  if (!hasTool('openssl')) return;
  for (const [name, spec] of Object.entries(SPECS)) {
    const s = opensslSigner(dir, name, `sigstore ${name}`, { ...spec, der: true });
    const pubPem = join(dir, `${name}.pub.pem`);
    execFileSync('openssl', ['pkey', '-in', s.key, '-pubout', '-out', pubPem], { stdio: 'ignore' });
    signers[name] = {
      key: createPrivateKey(readFileSync(s.key)),
      certDer: readFileSync(s.cert),
      spki: execFileSync('openssl', ['pkey', '-pubin', '-in', pubPem, '-outform', 'DER']),
      pubPem,
    };
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

const firmware = Buffer.from('ECU firmware 4.2.0\n'.repeat(50));
const statement = (): Buffer => inTotoStatement([{ name: 'ecu.bin', bytes: firmware }]);

function dsseBundle(version: SigstoreBundleVersion, s: Signer, tlog = 0): SigstoreBundle {
  const doc = parseSigstore(
    buildSigstoreBundle({
      version,
      key: s.key,
      certificates: [s.certDer],
      dsse: { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: statement() },
      tlogEntries: tlog,
    }),
  );
  assert.equal(doc.kind, 'bundle');
  return doc.bundle;
}

function envelopeOf(b: SigstoreBundle): DsseEnvelope {
  assert.equal(b.content.kind, 'dsse');
  return b.content.envelope;
}

function coreError(fn: () => unknown, re: RegExp): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof CoreError && e.code === 'DER_MALFORMED' && re.test(e.message),
  );
}

describe('dssePae', () => {
  test('matches the DSSE specification example', () => {
    const pae = dssePae('http://example.com/HelloWorld', Buffer.from('hello world'));
    assert.equal(pae.toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
  test('counts bytes, not characters', () => {
    const pae = dssePae('é', Buffer.from([0xff]));
    assert.deepEqual(pae, Buffer.concat([Buffer.from('DSSEv1 2 \u00e9 1 ', 'utf8'), Buffer.from([0xff])]));
  });
});

describe('Sigstore bundles', () => {
  for (const version of ['0.1', '0.2', '0.3'] as const) {
    test(`v${version} DSSE bundle: media type, certificate, tlog entries, valid signature`, (t) => {
      if (!needTools(t, 'openssl')) return;
      const s = signers['p256']!;
      const b = dsseBundle(version, s, 2);
      assert.equal(b.mediaType, SIGSTORE_MEDIA_TYPES[version]);
      assert.equal(b.version, version);
      assert.equal(b.certificates.length, 1);
      assert.deepEqual(Buffer.from(b.certificates[0]!.der), s.certDer);
      assert.equal(b.tlogEntries.length, 2);
      assert.equal(b.tlogEntries[0]!.integratedTime, 1_700_000_000_000);
      assert.equal(b.tlogEntries[0]!.kind, 'dsse/0.0.1');
      const env = envelopeOf(b);
      assert.equal(env.signatures.length, 1);
      assert.deepEqual(verifyDsse(env, env.signatures[0]!, s.spki), { status: 'valid' });
    });
  }

  test('each key type verifies, and openssl agrees over the same PAE', (t) => {
    if (!needTools(t, 'openssl')) return;
    for (const [name, s] of Object.entries(signers)) {
      const env = envelopeOf(dsseBundle('0.3', s));
      const sig = env.signatures[0]!;
      assert.equal(verifyDsse(env, sig, s.spki).status, 'valid', name);
      const paeFile = join(dir, `${name}.pae`);
      const sigFile = join(dir, `${name}.sig`);
      writeFileSync(paeFile, dssePae(env.payloadType, env.payload));
      writeFileSync(sigFile, sig.sig);
      const args =
        name === 'ed25519'
          ? [
              'pkeyutl',
              '-verify',
              '-pubin',
              '-inkey',
              s.pubPem,
              '-rawin',
              '-in',
              paeFile,
              '-sigfile',
              sigFile,
            ]
          : ['dgst', '-sha256', '-verify', s.pubPem, '-signature', sigFile, paeFile];
      assert.equal(spawnSync('openssl', args, { stdio: 'ignore' }).status, 0, `openssl verifies ${name}`);
    }
  });

  test('a tampered payload or another key is invalid', (t) => {
    if (!needTools(t, 'openssl')) return;
    const s = signers['p256']!;
    const env = envelopeOf(dsseBundle('0.2', s));
    const payload = Buffer.from(env.payload);
    payload[payload.length - 3] = payload[payload.length - 3]! ^ 0x01;
    const tampered = { ...env, payload };
    const r = verifyDsse(tampered, env.signatures[0]!, s.spki);
    assert.equal(r.status, 'invalid');
    assert.match(r.reason!, /does not verify/);
    assert.equal(
      verifyDsse({ ...env, payloadType: 'text/plain' }, env.signatures[0]!, s.spki).status,
      'invalid',
    );
    assert.equal(verifyDsse(env, env.signatures[0]!, signers['rsa']!.spki).status, 'invalid');
    assert.equal(verifyDsse(env, env.signatures[0]!, signers['ed25519']!.spki).status, 'invalid');
  });

  test('messageSignature: unverified without the artifact, valid with it, invalid with another', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const s = signers['ed25519']!;
    const doc = parseSigstore(
      buildSigstoreBundle({ version: '0.1', key: s.key, certificates: [s.certDer], artifact: firmware }),
    );
    assert.equal(doc.kind, 'bundle');
    const c = doc.bundle.content;
    assert.equal(c.kind, 'message-signature');
    assert.equal(c.digestAlgorithm, 'sha256');
    assert.equal(c.digest, execFileSync('sha256sum', { input: firmware }).toString().slice(0, 64));
    const none = verifyMessageSignature(c, s.spki);
    assert.equal(none.status, 'unverified');
    assert.match(none.reason!, /artifact bytes/);
    assert.deepEqual(verifyMessageSignature(c, s.spki, firmware), { status: 'valid' });
    const other = Buffer.from(firmware);
    other[0] = other[0]! ^ 1;
    const bad = verifyMessageSignature(c, s.spki, other);
    assert.equal(bad.status, 'invalid');
    assert.match(bad.reason!, /differs from the bundle's/);
    // Right digest, wrong key: the signature itself is what fails.
    assert.equal(verifyMessageSignature(c, signers['p256']!.spki, firmware).status, 'invalid');
  });

  test('publicKey hint instead of a certificate', (t) => {
    if (!needTools(t, 'openssl')) return;
    const doc = parseSigstore(
      buildSigstoreBundle({ version: '0.2', key: signers['p256']!.key, artifact: firmware }),
    );
    assert.equal(doc.kind, 'bundle');
    assert.equal(doc.bundle.certificates.length, 0);
    assert.match(doc.bundle.publicKeyHint!, /^[A-Za-z0-9+/]+=*$/);
  });
});

describe('DSSE envelopes and in-toto', () => {
  test('a bare envelope with two signatures and keyids', (t) => {
    if (!needTools(t, 'openssl', 'sha256sum')) return;
    const json = Buffer.from(
      JSON.stringify(
        buildDsseEnvelope({
          payloadType: IN_TOTO_PAYLOAD_TYPE,
          payload: inTotoStatement([{ name: 'a.bin', bytes: firmware }], { version: 'v0.1' }),
          signers: [
            { key: signers['p256']!.key, keyid: 'ci' },
            { key: signers['rsa']!.key, keyid: 'release' },
          ],
        }),
      ),
    );
    assert.ok(isSigstore(json));
    const doc = parseSigstore(json);
    assert.equal(doc.kind, 'dsse');
    const env = doc.envelope;
    assert.deepEqual(
      env.signatures.map((s) => s.keyid),
      ['ci', 'release'],
    );
    for (const s of env.signatures)
      assert.equal(
        json.toString('latin1', s.offset, s.offset + 8),
        Buffer.from(s.sig).toString('base64').slice(0, 8),
      );
    assert.equal(verifyDsse(env, env.signatures[0]!, signers['p256']!.spki).status, 'valid');
    assert.equal(verifyDsse(env, env.signatures[1]!, signers['rsa']!.spki).status, 'valid');
    assert.equal(verifyDsse(env, env.signatures[1]!, signers['p256']!.spki).status, 'invalid');
    const st = parseInToto(env)!;
    assert.equal(st.type, 'https://in-toto.io/Statement/v0.1');
    assert.equal(st.predicateType, 'https://slsa.dev/provenance/v1');
    assert.deepEqual(st.subjects[0], {
      name: 'a.bin',
      digest: { sha256: execFileSync('sha256sum', { input: firmware }).toString().slice(0, 64) },
    });
  });

  test('a payload of another type has no statement', () => {
    const env: DsseEnvelope = { payloadType: 'text/plain', payload: Buffer.from('x'), signatures: [] };
    assert.equal(parseInToto(env), undefined);
    coreError(
      () => parseInToto({ ...env, payloadType: IN_TOTO_PAYLOAD_TYPE }),
      /in-toto payload is not JSON/,
    );
  });
});

describe('malformed input', () => {
  const good = (): Buffer =>
    Buffer.from(
      JSON.stringify({
        mediaType: SIGSTORE_MEDIA_TYPES['0.3'],
        verificationMaterial: { certificate: { rawBytes: 'MAAA' } },
        dsseEnvelope: { payloadType: 't', payload: 'aGk=', signatures: [{ sig: 'AAAA' }] },
      }),
    );

  test('every truncation is a coded error naming the problem', () => {
    const buf = good();
    assert.equal(parseSigstore(buf).kind, 'bundle');
    for (let n = 1; n < buf.length; n++)
      coreError(() => parseSigstore(buf.subarray(0, n)), /sigstore: not JSON/);
  });

  test('fields that lie are named', () => {
    const b = JSON.parse(good().toString()) as Record<string, Record<string, unknown>>;
    const withField = (patch: (x: typeof b) => void): Buffer => {
      const c = structuredClone(b);
      patch(c);
      return Buffer.from(JSON.stringify(c));
    };
    coreError(
      () => parseSigstore(withField((c) => (c['dsseEnvelope']!['payload'] = 'not base64!'))),
      /dsseEnvelope\.payload is not base64/,
    );
    coreError(
      () => parseSigstore(withField((c) => (c['dsseEnvelope']!['signatures'] = {}))),
      /signatures is not an array/,
    );
    coreError(
      () => parseSigstore(withField((c) => delete c['dsseEnvelope'])),
      /neither messageSignature nor dsseEnvelope/,
    );
    coreError(
      () => parseSigstore(withField((c) => delete c['verificationMaterial'])),
      /verificationMaterial is not an object/,
    );
    coreError(
      () =>
        parseSigstore(withField((c) => (c['dsseEnvelope']!['signatures'] = new Array(65).fill({ sig: '' })))),
      /more than 64/,
    );
    coreError(() => parseSigstore(Buffer.from('[1]')), /document is not an object/);
    coreError(
      () => parseSigstore(Buffer.from('{"a":1}')),
      /neither a bundle mediaType nor a DSSE payloadType/,
    );
  });

  test('a multi-megabyte payload parses, and deep nesting is a coded error', () => {
    const big = Buffer.alloc(6_000_000, 7);
    const doc = JSON.stringify({ payloadType: 't', payload: big.toString('base64'), signatures: [] });
    const r = parseSigstore(Buffer.from(doc));
    assert.equal(r.kind === 'dsse' && r.envelope.payload.length, big.length);
    coreError(() => parseSigstore(Buffer.from('['.repeat(1_000_000))), /not JSON/);
  });

  test('isSigstore refuses other bytes quickly', () => {
    assert.equal(isSigstore(Buffer.from('-----BEGIN CERTIFICATE-----')), false);
    assert.equal(isSigstore(Buffer.from('{"kty":"EC"}')), false);
    assert.equal(isSigstore(Buffer.from('  {"payloadType":"x"}')), true);
  });

  test('random corruption never throws anything but CoreError', () => {
    const buf = good();
    fc.assert(
      fc.property(fc.nat(buf.length - 1), fc.integer({ min: 0, max: 255 }), (at, v) => {
        const c = Buffer.from(buf);
        c[at] = v;
        try {
          parseSigstore(c);
        } catch (e) {
          assert.ok(e instanceof CoreError, String(e));
        }
      }),
      { numRuns: 500 },
    );
  });
});

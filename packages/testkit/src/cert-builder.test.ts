import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildCertificate, signerFor, type NameSpec, type SignatureScheme } from './cert-builder.ts';
import {
  generalizedTime,
  header,
  integer,
  namedBits,
  oid,
  setOf,
  toPem,
  utcTime,
  x509Time,
} from './der-writer.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('der-writer', () => {
  test('length octets: short form below 128, minimal long form above', () => {
    assert.equal(hex(header(0x04, 0)), '0400');
    assert.equal(hex(header(0x04, 127)), '047f');
    assert.equal(hex(header(0x04, 128)), '048180');
    assert.equal(hex(header(0x04, 255)), '0481ff');
    assert.equal(hex(header(0x04, 256)), '04820100');
    assert.equal(hex(header(0x04, 65535)), '0482ffff');
    assert.equal(hex(header(0x04, 65536)), '0483010000');
  });

  test('INTEGER: minimal two’s complement', () => {
    assert.equal(hex(integer(0)), '020100');
    assert.equal(hex(integer(127)), '02017f');
    assert.equal(hex(integer(128)), '02020080');
    assert.equal(hex(integer(256)), '02020100');
    assert.equal(hex(integer(-1)), '0201ff');
    assert.equal(hex(integer(-128)), '020180');
    assert.equal(hex(integer(-129)), '0202ff7f');
    assert.equal(hex(integer(2n ** 64n)), '0209010000000000000000');
    // Unsigned magnitude bytes: leading zeros dropped, a sign octet added for a high first bit.
    assert.equal(hex(integer(Buffer.from('0000ff01', 'hex'))), '020300ff01');
    assert.equal(hex(integer(Buffer.from('00007f', 'hex'))), '02017f');
    assert.equal(hex(integer(Buffer.alloc(3))), '020100');
  });

  test('OBJECT IDENTIFIER: base-128 arcs with the first two folded', () => {
    assert.equal(hex(oid('1.2.840.113549')), '06062a864886f70d');
    assert.equal(hex(oid('2.5.29.15')), '0603551d0f');
    assert.equal(hex(oid('2.999.3')), '0603883703');
    assert.equal(hex(oid('1.3.6.1.4.1.311.21.20')), '06092b0601040182371514');
    assert.throws(() => oid('1.40'));
    assert.throws(() => oid('3.1'));
    assert.throws(() => oid('1.2.03'));
  });

  test('named-bit BIT STRING drops trailing zero bits', () => {
    assert.equal(hex(namedBits([0])), '03020780'); // digitalSignature
    assert.equal(hex(namedBits([5, 6])), '03020106'); // keyCertSign, cRLSign
    assert.equal(hex(namedBits([0, 2])), '030205a0');
    assert.equal(hex(namedBits([8])), '0303070080'); // decipherOnly
    assert.equal(hex(namedBits([])), '030100');
  });

  test('times: UTCTime through 2049, GeneralizedTime from 2050', () => {
    const txt = (b: Buffer): string => `${b[0]!.toString(16)}:${b.subarray(2).toString('latin1')}`;
    assert.equal(txt(utcTime(new Date('1950-01-01T00:00:00Z'))), '17:500101000000Z');
    assert.equal(txt(x509Time(new Date('2049-12-31T23:59:59.999Z'))), '17:491231235959Z');
    assert.equal(txt(x509Time(new Date('2050-01-01T00:00:00Z'))), '18:20500101000000Z');
    assert.equal(txt(x509Time(new Date('9999-12-31T23:59:59Z'))), '18:99991231235959Z');
    assert.equal(txt(x509Time(new Date('1949-12-31T23:59:59Z'))), '18:19491231235959Z');
    assert.throws(() => utcTime(new Date('2050-01-01T00:00:00Z')));
    assert.throws(() => generalizedTime(new Date(NaN)));
  });

  test('SET OF is sorted by encoding; PEM lines are 64 characters', () => {
    assert.equal(hex(setOf(integer(5), integer(1))), '3106020101020105');
    const pem = toPem('CERTIFICATE', Buffer.alloc(100, 1));
    const lines = pem.trimEnd().split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.equal(lines[1]!.length, 64);
    assert.equal(lines.at(-1), '-----END CERTIFICATE-----');
  });
});

/** The subjectPublicKey BIT STRING value, derived without DER parsing: PKCS#1 for RSA, JWK points otherwise. */
function rawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType === 'rsa') return key.export({ type: 'pkcs1', format: 'der' });
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'EC')
    return Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return Buffer.from(jwk.x!, 'base64url');
}
const sha1Hex = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');
const colonHex = (h: string): string => h.toUpperCase().replace(/(..)(?!$)/g, '$1:');

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'keywarden-certbuilder-'));
after(() => rmSync(work, { recursive: true, force: true }));

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

interface Case {
  name: string;
  key: () => { publicKey: KeyObject; privateKey: KeyObject };
  scheme?: SignatureScheme;
  expectScheme: SignatureScheme;
  opensslSig: RegExp;
}

const cases: Case[] = [
  {
    name: 'RSA PKCS#1 v1.5 SHA-256',
    key: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
    expectScheme: 'rsa-pkcs1-sha256',
    opensslSig: /Signature Algorithm: sha256WithRSAEncryption/,
  },
  {
    name: 'RSA-PSS SHA-256',
    key: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
    scheme: 'rsa-pss-sha256',
    expectScheme: 'rsa-pss-sha256',
    opensslSig:
      /Signature Algorithm: rsassaPss[\s\S]*Hash Algorithm: sha256[\s\S]*Mask Algorithm: mgf1 with sha256[\s\S]*Salt Length: 0x20/,
  },
  {
    name: 'ECDSA P-256 SHA-256',
    key: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    expectScheme: 'ecdsa-sha256',
    opensslSig: /Signature Algorithm: ecdsa-with-SHA256/,
  },
  {
    name: 'ECDSA P-384 SHA-384',
    key: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    expectScheme: 'ecdsa-sha384',
    opensslSig: /Signature Algorithm: ecdsa-with-SHA384/,
  },
  {
    name: 'Ed25519',
    key: () => generateKeyPairSync('ed25519'),
    expectScheme: 'ed25519',
    opensslSig: /Signature Algorithm: ED25519/,
  },
];

const leafKeys = [
  generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  generateKeyPairSync('ed25519'),
  generateKeyPairSync('rsa', { modulusLength: 1024 }),
];

describe('buildCertificate', () => {
  for (const c of cases) {
    test(`${c.name}: node:crypto and openssl accept a CA and a leaf`, () => {
      const caKey = c.key();
      const caName: NameSpec = [
        ['C', 'DE'],
        ['O', 'Test Org, Inc.'],
        ['OU', 'PKI'],
        ['CN', `Test CA ${c.name}`],
      ];
      const ca = buildCertificate({
        subject: caName,
        publicKey: caKey.publicKey,
        privateKey: caKey.privateKey,
        serial: 1,
        notBefore: new Date('2024-01-01T00:00:00Z'),
        notAfter: new Date('9999-12-31T23:59:59Z'),
        ...(c.scheme && { signature: c.scheme }),
        extensions: { basicConstraints: { ca: true, pathLen: 0 }, keyUsage: ['keyCertSign', 'cRLSign'] },
      });
      assert.equal(ca.signature, c.expectScheme);
      assert.equal(ca.aki, undefined, 'self-signed certificates carry no AKI by default');
      for (const [i, lk] of leafKeys.entries()) {
        const leaf = buildCertificate({
          subject: [
            ['C', 'DE'],
            ['O', 'Test Org'],
            ['CN', `leaf${i}.example`],
            ['serialNumber', `SN-${i}`],
          ],
          publicKey: lk.publicKey,
          issuer: signerFor(caName, caKey.privateKey, ca),
          serial: 0xdeadbeefn + BigInt(i),
          notBefore: new Date('2025-06-01T12:00:00Z'),
          notAfter: new Date('2049-12-31T23:59:59Z'),
          ...(c.scheme && { signature: c.scheme }),
          extensions: {
            basicConstraints: { ca: false },
            keyUsage: ['digitalSignature', 'keyEncipherment'],
            extKeyUsage: ['serverAuth', 'clientAuth', 'codeSigning', '1.3.6.1.4.1.55555.1'],
            subjectAltName: {
              dns: [`leaf${i}.example`, `*.leaf${i}.example`],
              ip: ['192.0.2.7', '2001:db8::7', '::ffff:198.51.100.1'],
              email: ['pki@example.com'],
              uri: ['urn:example:device:7'],
            },
            crlDistributionPoints: ['http://crl.example/ca.crl'],
            authorityInfoAccess: { ocsp: ['http://ocsp.example'], caIssuers: ['http://ca.example/ca.crt'] },
          },
        });
        const x = new X509Certificate(leaf.pem);
        const xca = new X509Certificate(ca.der);
        assert.equal(xca.verify(caKey.publicKey), true, 'CA self-signature');
        assert.equal(x.verify(xca.publicKey), true, 'leaf signature');
        assert.equal(x.verify(lk.publicKey), false, 'not signed by its own key');
        assert.equal(x.checkIssued(xca), true);
        assert.equal(xca.ca, true);
        assert.equal(x.ca, false);
        assert.equal(x.serialNumber, (0xdeadbeef + i).toString(16).toUpperCase());
        assert.equal(leaf.serial, (0xdeadbeef + i).toString(16));
        assert.equal(x.subject, `C=DE\nO=Test Org\nCN=leaf${i}.example\nserialNumber=SN-${i}`);
        assert.equal(x.issuer, `C=DE\nO=Test Org\\, Inc.\nOU=PKI\nCN=Test CA ${c.name}`);
        assert.equal(x.validFrom, 'Jun  1 12:00:00 2025 GMT');
        assert.equal(x.validTo, 'Dec 31 23:59:59 2049 GMT');
        assert.equal(xca.validTo, 'Dec 31 23:59:59 9999 GMT');
        assert.deepEqual(x.keyUsage, [
          '1.3.6.1.5.5.7.3.1',
          '1.3.6.1.5.5.7.3.2',
          '1.3.6.1.5.5.7.3.3',
          '1.3.6.1.4.1.55555.1',
        ]);
        assert.equal(
          x.subjectAltName,
          `email:pki@example.com, DNS:leaf${i}.example, DNS:*.leaf${i}.example, URI:urn:example:device:7, ` +
            'IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:7, IP Address:0:0:0:0:0:FFFF:C633:6401',
        );
        assert.equal(
          x.infoAccess,
          'OCSP - URI:http://ocsp.example\nCA Issuers - URI:http://ca.example/ca.crt',
        );
        assert.equal(createHash('sha256').update(leaf.der).digest('hex'), leaf.sha256);
        assert.equal(x.fingerprint256, colonHex(leaf.sha256));
        // RFC 5280 method 1, computed here from the raw key rather than from the SPKI bytes.
        assert.equal(leaf.ski, sha1Hex(rawPublicKey(lk.publicKey)));
        assert.equal(ca.ski, sha1Hex(rawPublicKey(caKey.publicKey)));
        assert.equal(leaf.aki, ca.ski);

        if (hasOpenssl && i === 0) {
          const caFile = join(work, `ca-${c.expectScheme}.pem`);
          const leafFile = join(work, `leaf-${c.expectScheme}.pem`);
          writeFileSync(caFile, ca.pem);
          writeFileSync(leafFile, leaf.pem);
          const text = openssl(['x509', '-noout', '-text', '-in', leafFile]);
          assert.equal(text.status, 0, text.out);
          assert.match(text.out, c.opensslSig);
          assert.match(text.out, /Version: 3 \(0x2\)/);
          assert.match(text.out, /Not After : Dec 31 23:59:59 2049 GMT/);
          assert.match(text.out, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
          assert.match(text.out, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
          assert.match(
            text.out,
            /TLS Web Server Authentication, TLS Web Client Authentication, Code Signing, 1\.3\.6\.1\.4\.1\.55555\.1/,
          );
          assert.match(text.out, new RegExp(`X509v3 Subject Key Identifier:\\s+${colonHex(leaf.ski!)}`));
          assert.match(
            text.out,
            new RegExp(`X509v3 Authority Key Identifier:\\s+(keyid:)?${colonHex(ca.ski!)}`),
          );
          assert.match(
            text.out,
            /X509v3 CRL Distribution Points:\s+Full Name:\s+URI:http:\/\/crl\.example\/ca\.crl/,
          );
          assert.match(
            text.out,
            /OCSP - URI:http:\/\/ocsp\.example\s+CA Issuers - URI:http:\/\/ca\.example\/ca\.crt/,
          );
          const caText = openssl(['x509', '-noout', '-text', '-in', caFile]);
          assert.match(caText.out, /CA:TRUE, pathlen:0/);
          assert.match(caText.out, /Certificate Sign, CRL Sign/);
          assert.match(caText.out, /Not After : Dec 31 23:59:59 9999 GMT/);
          const v = openssl([
            'verify',
            '-attime',
            String(Date.parse('2030-01-01T00:00:00Z') / 1000),
            '-CAfile',
            caFile,
            leafFile,
          ]);
          assert.equal(v.status, 0, v.out);
        }
      }
    });
  }

  test('v1 certificate with SHA-1 and no extensions', () => {
    const k = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const c = buildCertificate({
      subject: [['CN', 'legacy']],
      publicKey: k.publicKey,
      privateKey: k.privateKey,
      signature: 'rsa-pkcs1-sha1',
      version: 1,
      notBefore: new Date('2015-01-01T00:00:00Z'),
      notAfter: new Date('2035-01-01T00:00:00Z'),
    });
    const x = new X509Certificate(c.der);
    assert.equal(x.verify(k.publicKey), true);
    assert.equal(c.ski, undefined);
    assert.equal(x.subjectAltName, undefined);
    if (hasOpenssl) {
      const f = join(work, 'v1.pem');
      writeFileSync(f, c.pem);
      const text = openssl(['x509', '-noout', '-text', '-in', f]);
      assert.match(text.out, /Version: 1 \(0x0\)/);
      assert.match(text.out, /sha1WithRSAEncryption/);
      assert.doesNotMatch(text.out, /X509v3 extensions/);
    }
  });

  test('explicit key identifiers, hex serials and random serials', () => {
    const k = generateKeyPairSync('ed25519');
    const base = {
      subject: [['CN', 'x']] as NameSpec,
      publicKey: k.publicKey,
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2026-01-01T00:00:00Z'),
    };
    const c = buildCertificate({
      ...base,
      issuer: {
        name: [['CN', 'elsewhere']],
        privateKey: generateKeyPairSync('ed25519').privateKey,
        keyId: Buffer.from('0102', 'hex'),
      },
      serial: '00ff',
    });
    assert.equal(c.aki, '0102');
    assert.equal(c.serial, 'ff');
    assert.equal(new X509Certificate(c.der).serialNumber, 'FF');
    const r1 = buildCertificate({ ...base, privateKey: k.privateKey });
    const r2 = buildCertificate({ ...base, privateKey: k.privateKey });
    assert.equal(r1.serial.length, 32);
    assert.notEqual(r1.serial, r2.serial);
  });

  test('rejects what it cannot build', () => {
    const ed = generateKeyPairSync('ed25519');
    const base = {
      subject: [['CN', 'x']] as NameSpec,
      publicKey: ed.publicKey,
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2026-01-01T00:00:00Z'),
    };
    assert.throws(() => buildCertificate(base), /needs privateKey/);
    assert.throws(
      () => buildCertificate({ ...base, privateKey: ed.privateKey, signature: 'ecdsa-sha256' }),
      /cannot be made/,
    );
    assert.throws(() => buildCertificate({ ...base, privateKey: ed.privateKey, serial: -1 }), /positive/);
    assert.throws(
      () => buildCertificate({ ...base, privateKey: ed.privateKey, subject: [['XX', 'y']] }),
      /unknown name attribute/,
    );
    assert.throws(
      () => buildCertificate({ ...base, privateKey: ed.privateKey, version: 1, extensions: {} }),
      /v1/,
    );
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateEstate, type EstateCertificate, type EstateManifest } from './estate.ts';

const DAY = 86_400_000;
const NOW = new Date('2026-03-14T09:30:00Z');
const root = mkdtempSync(join(tmpdir(), 'keywarden-estate-'));
after(() => rmSync(root, { recursive: true, force: true }));

let m: EstateManifest;
let dir: string;
before(() => {
  dir = join(root, 'a');
  m = generateEstate(dir, { now: NOW, seed: 42 });
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const spkiHash = (k: ReturnType<typeof createPublicKey>): string =>
  sha256(k.export({ type: 'spki', format: 'der' }));
const read = (p: string): Buffer => readFileSync(join(dir, ...p.split('/')));

function walk(d: string, out: string[] = []): string[] {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(relative(dir, p).split(sep).join('/'));
  }
  return out;
}

/** PEM CERTIFICATE bodies in text, decoded; indentation (YAML block scalars) is whitespace and ignored. */
function pemCerts(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const x of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g))
    out.push(Buffer.from(x[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

function jsonStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) jsonStrings(x, out);
  return out;
}

/** The certificates stored in a file, in order, decoded the way each encoding requires. */
function certsIn(path: string): Buffer[] {
  const data = read(path);
  const encodings = new Set(
    m.certificates.flatMap((c) => c.occurrences.filter((o) => o.path === path).map((o) => o.encoding)),
  );
  if (encodings.has('der')) return [data];
  if (encodings.has('pem-in-json')) return jsonStrings(JSON.parse(data.toString('utf8'))).flatMap(pemCerts);
  return pemCerts(data.toString('latin1'));
}

const byId = (id: string): EstateCertificate => {
  const c = m.certificates.find((x) => x.id === id);
  assert.ok(c, `certificate ${id} in manifest`);
  return c;
};
const x509Of = (id: string): X509Certificate => {
  const c = byId(id);
  const occ = c.occurrences[0]!;
  const found = certsIn(occ.path).find((d) => sha256(d) === c.sha256);
  assert.ok(found, `${id} found in ${occ.path}`);
  return new X509Certificate(found);
};

describe('generateEstate', () => {
  test('writes exactly the files in the manifest, in layer directories, under 2 MB', () => {
    const onDisk = walk(dir).sort();
    assert.deepEqual(onDisk, m.files.map((f) => f.path).sort());
    for (const f of m.files) {
      assert.equal(statSync(join(dir, ...f.path.split('/'))).size, f.bytes, f.path);
      assert.equal(f.path.split('/')[0], f.layer);
    }
    assert.deepEqual(
      new Set(m.files.map((f) => f.layer)),
      new Set(['silicon', 'firmware', 'device', 'cloud', 'enterprise']),
    );
    assert.equal(m.expected.files, m.files.length);
    assert.equal(
      m.expected.totalBytes,
      m.files.reduce((n, f) => n + f.bytes, 0),
    );
    assert.ok(m.expected.totalBytes < 2 * 1024 * 1024);
    assert.equal(m.now, NOW.toISOString());
  });

  test('every certificate occurrence decodes with node:crypto to the listed certificate', () => {
    let occurrences = 0;
    for (const f of m.files) {
      const ders = certsIn(f.path);
      if (!f.parseable) continue;
      assert.deepEqual(
        ders.map(sha256),
        f.certificates.map((id) => byId(id).sha256),
        `certificates in ${f.path}`,
      );
      occurrences += ders.length;
      for (const [i, der] of ders.entries()) {
        const c = byId(f.certificates[i]!);
        const x = new X509Certificate(der);
        assert.equal(x.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''), c.serial);
        assert.equal(new Date(x.validTo).toISOString(), c.notAfter);
        assert.equal(new Date(x.validFrom).toISOString(), c.notBefore);
        assert.equal(x.ca, c.ca);
        assert.equal(spkiHash(x.publicKey), c.spkiSha256);
        const cn = c.subjectAttributes.find(([t]) => t === 'CN')?.[1];
        assert.ok(cn && x.subject.includes(`CN=${cn}`), `${c.id} subject`);
      }
    }
    assert.equal(occurrences, m.expected.certificateOccurrences);
    assert.equal(
      m.certificates.reduce((n, c) => n + c.occurrences.length, 0),
      m.expected.certificateOccurrences,
    );
    assert.equal(m.expected.uniqueCertificates, new Set(m.certificates.map((c) => c.sha256)).size);
    assert.equal(m.expected.uniqueCertificates, m.certificates.length);
  });

  test('signatures and key identifiers chain to issuers in the estate', () => {
    for (const c of m.certificates) {
      const x = x509Of(c.id);
      if (c.selfSigned) {
        assert.equal(x.verify(x.publicKey), true, `${c.id} self-signature`);
        assert.equal(x.issuer, x.subject);
        continue;
      }
      if (!c.issuerId) continue; // the broken chain, checked below
      const issuer = x509Of(c.issuerId);
      assert.equal(x.verify(issuer.publicKey), true, `${c.id} signed by ${c.issuerId}`);
      assert.equal(x.checkIssued(issuer), true, `${c.id} issued by ${c.issuerId}`);
      assert.equal(c.aki, byId(c.issuerId).ski);
      assert.equal(c.issuer, byId(c.issuerId).subject);
    }
    const root = byId('oem-root-ca');
    assert.equal(root.role, 'root-ca');
    assert.equal(root.keyAlgorithm, 'EC P-384');
    for (const layer of ['silicon', 'firmware', 'cloud'] as const) {
      const ca = m.certificates.find((c) => c.role === 'intermediate-ca' && c.layer === layer);
      assert.ok(ca, `${layer} CA`);
      assert.equal(ca.issuerId, 'oem-root-ca');
    }
    assert.equal(x509Of('silicon-idevid-ca').validTo, 'Dec 31 23:59:59 9999 GMT');
    assert.equal(m.expected.caCertificates, m.certificates.filter((c) => x509Of(c.id).ca).length);
  });

  test('openssl verifies a device and a supplier through their intermediates at opts.now', (t) => {
    if (spawnSync('openssl', ['version']).status !== 0) return t.skip('openssl not installed');
    const bundle = join(dir, 'enterprise', 'pki', 'ca-bundle.pem');
    const device = join(
      dir,
      ...byId('device-0001')
        .occurrences.find((o) => o.encoding === 'der')!
        .path.split('/'),
    );
    for (const [file, form] of [
      [device, 'DER'],
      [join(dir, 'firmware', 'suppliers', 'birchway-codesigning.pem'), 'PEM'],
    ] as const) {
      // Convert DER to PEM through openssl itself, then verify against the bundle (root trusted, intermediates untrusted).
      const pem = spawnSync('openssl', ['x509', '-inform', form, '-in', file], { encoding: 'utf8' });
      assert.equal(pem.status, 0, pem.stderr);
      const r = spawnSync(
        'openssl',
        [
          'verify',
          '-attime',
          String(NOW.getTime() / 1000),
          '-CAfile',
          join(dir, 'enterprise', 'pki', 'oem-root-ca.pem'),
          '-untrusted',
          bundle,
          '-purpose',
          'any',
        ],
        { input: pem.stdout, encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
  });

  test('the broken chain names an issuer that is nowhere in the estate', () => {
    assert.deepEqual(m.expected.brokenChains, ['partner-analytics-client']);
    const c = byId('partner-analytics-client');
    assert.equal(c.issuerId, undefined);
    const x = x509Of(c.id);
    const subjects = new Set(m.certificates.map((o) => x509Of(o.id).subject));
    assert.equal(subjects.has(x.issuer), false);
    assert.ok(c.aki);
    assert.equal(
      m.certificates.some((o) => o.ski === c.aki),
      false,
    );
    assert.deepEqual(m.expected.missingIssuers, [c.issuer]);
    for (const o of m.certificates) assert.equal(x.checkIssued(x509Of(o.id)), false);
  });

  test('validity relative to opts.now: one expired, one within 30 days, one within a year', () => {
    const now = NOW.getTime();
    const left = (id: string): number => Date.parse(x509Of(id).validTo) - now;
    assert.equal(m.expected.expired.length, 1);
    assert.equal(m.expected.expiringWithin30Days.length, 1);
    assert.equal(m.expected.expiringWithinYear.length, 1);
    for (const id of m.expected.expired) assert.ok(left(id) < 0, `${id} expired`);
    for (const id of m.expected.expiringWithin30Days) assert.ok(left(id) >= 0 && left(id) <= 30 * DAY, id);
    for (const id of m.expected.expiringWithinYear)
      assert.ok(left(id) > 30 * DAY && left(id) <= 365 * DAY, id);
    const flagged = new Set([
      ...m.expected.expired,
      ...m.expected.expiringWithin30Days,
      ...m.expected.expiringWithinYear,
    ]);
    for (const c of m.certificates) {
      if (!flagged.has(c.id)) assert.ok(left(c.id) > 365 * DAY, `${c.id} valid for over a year`);
      assert.ok(Date.parse(x509Of(c.id).validFrom) <= now, `${c.id} already valid`);
    }
    assert.equal(byId('vpn-gateway-expired').status, 'expired');
  });

  test('device cohort: a PEM bundle of 50 and DER copies named by serialNumber', () => {
    const devices = m.certificates.filter((c) => c.role === 'device-identity');
    assert.equal(devices.length, 50);
    const bundle = m.files.find((f) => f.kind === 'certificate-bundle' && f.layer === 'device');
    assert.ok(bundle);
    assert.equal(bundle.certificates.length, 50);
    const der = m.files.filter((f) => f.layer === 'device' && f.path.endsWith('.crt') && f.parseable);
    assert.equal(der.length, 10);
    for (const f of der) {
      const c = byId(f.certificates[0]!);
      const hw = c.subjectAttributes.find(([t]) => t === 'serialNumber')?.[1];
      assert.ok(hw);
      assert.ok(f.path.endsWith(`/${hw}.crt`));
      assert.ok(bundle.certificates.includes(c.id));
      const x = new X509Certificate(read(f.path));
      assert.ok(x.subject.includes(`serialNumber=${hw}`));
      assert.equal(x.validTo, 'Dec 31 23:59:59 9999 GMT');
      assert.equal(c.issuerId, 'silicon-idevid-ca');
    }
  });

  test('supplier code-signing certificates from the firmware CA', () => {
    const s = m.certificates.filter((c) => c.role === 'code-signing');
    assert.equal(s.length, 3);
    assert.equal(new Set(s.map((c) => c.subjectAttributes.find(([t]) => t === 'O')?.[1])).size, 3);
    for (const c of s) {
      assert.equal(c.issuerId, 'firmware-signing-ca');
      assert.equal(c.layer, 'firmware');
      assert.deepEqual(x509Of(c.id).keyUsage, ['1.3.6.1.5.5.7.3.3']);
      assert.equal(c.signature, 'rsa-pss-sha256');
    }
  });

  test('keys: PKCS#8 in ci/, encrypted PKCS#8, PKCS#1, OpenSSH and JWKs link to their certificates', () => {
    const key = (id: string): (typeof m.keys)[number] => {
      const k = m.keys.find((x) => x.id === id);
      assert.ok(k, id);
      return k;
    };
    const a = key('supplier-a-signing-key');
    assert.match(a.path, /\/(ci|build)\//);
    const aText = read(a.path).toString('utf8');
    assert.match(aText, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(spkiHash(createPublicKey(createPrivateKey(aText))), a.spkiSha256);
    assert.deepEqual(a.certificateIds, ['supplier-a-codesign']);

    const b = key('supplier-b-signing-key');
    const bText = read(b.path).toString('utf8');
    assert.match(bText, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.ok(b.encrypted && b.passphrase);
    assert.throws(() => createPrivateKey(bText));
    assert.equal(
      spkiHash(createPublicKey(createPrivateKey({ key: bText, passphrase: b.passphrase }))),
      b.spkiSha256,
    );
    assert.deepEqual(b.certificateIds, ['supplier-b-codesign']);

    const vpn = key('vpn-gateway-key');
    assert.match(read(vpn.path).toString('utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.deepEqual([...vpn.certificateIds].sort(), ['vpn-gateway', 'vpn-gateway-expired']);
    assert.deepEqual(m.expected.reusedCertificateKeys, [vpn.spkiSha256]);

    const ssh = key('deploy-ssh-key');
    const sshPub = key('deploy-ssh-key-pub');
    assert.match(read(ssh.path).toString('utf8'), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    if (process.platform !== 'win32')
      assert.equal(statSync(join(dir, ...ssh.path.split('/'))).mode & 0o777, 0o600);
    const [type, b64] = read(sshPub.path).toString('utf8').split(' ');
    assert.equal(type, 'ssh-ed25519');
    const raw = Buffer.from(b64!, 'base64').subarray(-32);
    const pub = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
    assert.equal(spkiHash(pub), ssh.spkiSha256);
    if (spawnSync('ssh-keygen', ['-?']).error === undefined) {
      const r = spawnSync('ssh-keygen', ['-y', '-f', join(dir, ...ssh.path.split('/'))], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.split(' ')[1]?.trim(), b64);
    }

    const jwks = JSON.parse(read('cloud/update-service/jwks.json').toString('utf8')) as {
      keys: (JsonWebKey & { kid: string })[];
    };
    const jwkKeys = m.keys.filter((k) => k.format === 'jwk-public');
    assert.equal(jwks.keys.length, jwkKeys.length);
    for (const [i, jwk] of jwks.keys.entries()) {
      assert.equal(jwk.d, undefined);
      assert.equal(jwk.kid, jwkKeys[i]!.kid);
      assert.equal(spkiHash(createPublicKey({ key: jwk, format: 'jwk' })), jwkKeys[i]!.spkiSha256);
    }
    const priv = key('update-signing-jwk');
    const config = JSON.parse(read(priv.path).toString('utf8')) as {
      manifestSigning: { jwk: JsonWebKey & { kid: string } };
    };
    assert.ok(config.manifestSigning.jwk.d);
    assert.equal(
      spkiHash(createPublicKey(createPrivateKey({ key: config.manifestSigning.jwk, format: 'jwk' }))),
      priv.spkiSha256,
    );
    assert.ok(
      jwkKeys.some((k) => k.kid === config.manifestSigning.jwk.kid && k.spkiSha256 === priv.spkiSha256),
    );

    assert.equal(m.expected.privateKeys, m.keys.filter((k) => k.private).length);
    assert.equal(m.expected.unencryptedPrivateKeys, m.expected.privateKeys - 1);
    assert.equal(m.expected.publicKeys, m.keys.filter((k) => !k.private).length);
    for (const f of m.files)
      assert.deepEqual(
        f.keys,
        m.keys.filter((k) => k.path === f.path).map((k) => k.id),
        `keys in ${f.path}`,
      );
  });

  test('bundles with prose, PEM embedded in YAML and JSON', () => {
    const bundle = read('enterprise/pki/ca-bundle.pem').toString('utf8');
    const blocks = pemCerts(bundle);
    assert.equal(blocks.length, 5);
    const between = bundle
      .split(/-----END CERTIFICATE-----/)
      .slice(0, -1)
      .map((s) => s.split('-----BEGIN CERTIFICATE-----')[0]!);
    assert.ok(
      between.every((s) => /[A-Za-z]{4,}/.test(s)),
      'text before every certificate',
    );
    const yaml = m.files.find((f) => f.path.endsWith('.yaml'));
    assert.ok(yaml);
    assert.match(read(yaml.path).toString('utf8'), /\n {6}-----BEGIN CERTIFICATE-----\n/);
    const json = byId('cloud-services-ca').occurrences.find((o) => o.encoding === 'pem-in-json');
    assert.ok(json);
    assert.match(read(json.path).toString('utf8'), /"-----BEGIN CERTIFICATE-----\\nMII/);
    assert.equal(
      m.expected.pemCertificateBlocks,
      m.certificates
        .flatMap((c) => c.occurrences)
        .filter((o) => o.encoding === 'pem' || o.encoding === 'pem-in-yaml').length,
    );
  });

  test('garbage.pem and a truncated .crt do not parse', () => {
    assert.equal(m.expected.unparseableFiles.length, 2);
    const garbage = m.expected.unparseableFiles.find((p) => p.endsWith('/garbage.pem'));
    const truncated = m.expected.unparseableFiles.find((p) => p.endsWith('.crt'));
    assert.ok(garbage && truncated);
    const g = read(garbage);
    assert.equal(g.includes('-----BEGIN'), false);
    assert.notEqual(g[0], 0x30);
    assert.throws(() => new X509Certificate(g));
    const t = read(truncated);
    assert.equal(t[0], 0x30);
    assert.throws(() => new X509Certificate(t));
  });

  test('the same seed and date give the same layout, names, serials and dates', () => {
    const again = generateEstate(join(root, 'b'), { now: NOW, seed: 42 });
    const view = (x: EstateManifest): unknown => ({
      files: x.files.map((f) => [f.path, f.kind, f.certificates, f.keys]),
      certs: x.certificates.map((c) => [
        c.id,
        c.subject,
        c.issuer,
        c.serial,
        c.notBefore,
        c.notAfter,
        c.status,
      ]),
    });
    assert.deepEqual(view(again), view(m));
    assert.notEqual(again.certificates[0]!.sha256, m.certificates[0]!.sha256, 'keys are fresh');
    const other = generateEstate(join(root, 'c'), { now: new Date(NOW.getTime() + 3 * 365 * DAY), seed: 7 });
    assert.notDeepEqual(
      other.certificates.map((c) => c.serial),
      m.certificates.map((c) => c.serial),
    );
    assert.deepEqual(other.expected.expired, m.expected.expired);
    assert.deepEqual(other.expected.expiringWithin30Days, m.expected.expiringWithin30Days);
    assert.deepEqual(other.expected.expiringWithinYear, m.expected.expiringWithinYear);
    assert.deepEqual(other.expected.brokenChains, m.expected.brokenChains);
  });
});

/**
 * SBOM intake through a scan: the crypto libraries a CycloneDX or SPDX JSON SBOM declares become
 * assets with the SBOM as their occurrence, one library@version however many SBOMs declare it.
 * The SBOMs are written here in the shapes the two specifications define (no SBOM generator is
 * packaged in Debian); field names follow CycloneDX 1.6 and SPDX 2.3.
 *
 * CBOM intake: a CycloneDX 1.6 document, JSON or XML, anywhere in the tree (archives too) also has
 * its cryptographic assets imported as declared by `<supplier> at <path>`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { toolsMissing } from '@keywarden/testkit';
import type { AssetKind, AssetRow, Store } from '@keywarden/store';
import { cyclonedxXmlToJson } from '../../scan/src/formats/cyclonedx-xml.ts';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { declaredSource } from './cbom-import.ts';
import { exportCbom } from './cbom-export.ts';
import { libraries, type LibraryItem } from './inventory.ts';
import { runScan } from './scan-job.ts';

const root = mkdtempSync(join(tmpdir(), 'kw-sbom-'));
after(() => rmSync(root, { recursive: true, force: true }));

const cyclonedx = {
  bomFormat: 'CycloneDX',
  specVersion: '1.6',
  version: 1,
  metadata: { component: { type: 'firmware', name: 'tcu-firmware', version: '4.2.0' } },
  components: [
    {
      type: 'library',
      name: 'openssl',
      version: '3.0.11',
      purl: 'pkg:generic/openssl@3.0.11',
      supplier: { name: 'OpenSSL Foundation' },
    },
    {
      type: 'library',
      name: 'telematics-core',
      version: '1.0',
      components: [
        { type: 'library', name: 'mbedtls', version: '2.28.8', cpe: 'cpe:2.3:a:arm:mbed_tls:2.28.8' },
      ],
    },
    { type: 'library', name: 'zlib', version: '1.3' },
  ],
};
const spdx = {
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'gateway-rootfs',
  packages: [
    {
      SPDXID: 'SPDXRef-libssl3',
      name: 'libssl3',
      versionInfo: '3.0.11-1~deb12u2',
      supplier: 'Organization: Debian',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2',
        },
      ],
    },
    { SPDXID: 'SPDXRef-gnutls', name: 'libgnutls30', versionInfo: '3.7.9-2' },
    { SPDXID: 'SPDXRef-bc', name: 'bcprov-jdk18on', versionInfo: '1.78' },
    { SPDXID: 'SPDXRef-busybox', name: 'busybox', versionInfo: '1.36' },
  ],
};

test('crypto libraries declared by CycloneDX and SPDX SBOMs become assets, declared by each SBOM', async () => {
  mkdirSync(join(root, 'firmware'), { recursive: true });
  mkdirSync(join(root, 'device'), { recursive: true });
  writeFileSync(join(root, 'firmware/tcu.cdx.json'), JSON.stringify(cyclonedx, null, 2));
  writeFileSync(join(root, 'firmware/tcu-copy.cdx.json'), JSON.stringify(cyclonedx));
  writeFileSync(join(root, 'device/rootfs.spdx.json'), JSON.stringify(spdx));
  writeFileSync(join(root, 'device/broken.spdx.json'), '{"spdxVersion": "SPDX-2.3", "packages": [');
  const ctx = await openTestStore('sqlite');
  try {
    const s = await runScan({ roots: [root], store: ctx.store, threads: 0 });
    const libs: LibraryItem[] = [];
    for await (const l of libraries(ctx.store)) libs.push(l);
    const names = libs.map((l) => `${l.library}@${l.version}`).sort();
    assert.deepEqual(names, [
      'bouncycastle@1.78',
      'gnutls@3.7.9-2',
      'mbedtls@2.28.8',
      'openssl@3.0.11',
      'openssl@3.0.11-1~deb12u2',
    ]);
    assert.equal(s.cryptoLibraries, 5);
    const ossl = libs.find((l) => l.version === '3.0.11')!;
    assert.equal(ossl.supplier, 'OpenSSL Foundation');
    assert.equal(ossl.declaredIn, 'cyclonedx');
    assert.deepEqual(ossl.declaredBy.map((d) => d.path.slice(root.length)).sort(), [
      '/firmware/tcu-copy.cdx.json',
      '/firmware/tcu.cdx.json',
    ]);
    const deb = libs.find((l) => l.name === 'libssl3')!;
    assert.equal(deb.purl, 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2');
    assert.equal(deb.supplier, 'Debian');
    assert.equal(libs.find((l) => l.library === 'mbedtls')?.cpe, 'cpe:2.3:a:arm:mbed_tls:2.28.8');
    const bom = await exportCbom(ctx.store);
    const lib = bom.components.find((c) => c.type === 'library' && c.purl === 'pkg:generic/openssl@3.0.11');
    assert.equal(lib?.version, '3.0.11', 'the CBOM carries the declared libraries as library components');
    const broken = (await ctx.store.problems()).find((p) => p.path.endsWith('broken.spdx.json'));
    assert.match(broken?.reason ?? '', /not valid JSON/);
  } finally {
    await ctx.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// CBOMs found by a scan.

const SCHEMAS =
  process.env.KEYWARDEN_CYCLONEDX_SCHEMAS ??
  join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/schemas/cyclonedx');
const noSchemas = existsSync(join(SCHEMAS, 'bom-1.6.schema.json'))
  ? false
  : `CycloneDX schemas missing in ${SCHEMAS} (set KEYWARDEN_CYCLONEDX_SCHEMAS)`;
if (noSchemas && process.env.CI) throw new Error(noSchemas);
const cbomSkip = toolsMissing('openssl', 'tar', 'gzip', 'zip') || noSchemas;

type Json = Record<string, unknown>;
const openssl = (args: string[], cwd: string): Buffer =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Issued {
  fingerprint: string;
  keyId: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  pem: string;
}

/** The facts a CBOM states about a certificate, read back from openssl. */
function facts(dir: string, name: string): Issued {
  const der = openssl(['x509', '-in', `${name}.crt`, '-outform', 'DER'], dir);
  const spki = openssl(['pkey', '-in', `${name}.key`, '-pubout', '-outform', 'DER'], dir);
  const field = (opt: string): string =>
    openssl(['x509', '-in', `${name}.crt`, '-noout', opt, '-nameopt', 'RFC2253'], dir)
      .toString()
      .trim()
      .replace(/^\w+=/, '');
  const date = (opt: string): string => new Date(field(opt)).toISOString().replace('.000Z', 'Z');
  return {
    fingerprint: sha256(der),
    keyId: sha256(spki),
    subject: field('-subject'),
    issuer: field('-issuer'),
    notBefore: date('-startdate'),
    notAfter: date('-enddate'),
    pem: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  };
}

/** An EC P-256 root and an RSA-2048 device certificate it issued, made by openssl. */
function makePki(dir: string): { ca: Issued; leaf: Issued } {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '3650',
      '-subj',
      '/O=Acme Devices/CN=Acme Root CA',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'leaf.key',
      '-out',
      'leaf.csr',
      '-subj',
      '/CN=gw.acme.example',
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '4660',
      '-days',
      '365',
      '-sha256',
      '-out',
      'leaf.crt',
    ],
    dir,
  );
  return { ca: facts(dir, 'ca'), leaf: facts(dir, 'leaf') };
}

/** A supplier's CBOM in the CycloneDX 1.6 JSON model, fields in the XSD's order so XML can follow it. */
function supplierCbom(ca: Issued, leaf: Issued): Json {
  const cert = (ref: string, c: Issued, keyRef: string): Json => ({
    type: 'cryptographic-asset',
    'bom-ref': ref,
    name: c.subject,
    hashes: [{ alg: 'SHA-256', content: c.fingerprint }],
    cryptoProperties: {
      assetType: 'certificate',
      certificateProperties: {
        subjectName: c.subject,
        issuerName: c.issuer,
        notValidBefore: c.notBefore,
        notValidAfter: c.notAfter,
        signatureAlgorithmRef: 'alg-ecdsa-sha256',
        subjectPublicKeyRef: keyRef,
        certificateFormat: 'X.509',
        certificateExtension: 'crt',
      },
    },
  });
  const key = (ref: string, id: string, algRef: string, size: number): Json => ({
    type: 'cryptographic-asset',
    'bom-ref': ref,
    name: `public key ${ref}`,
    cryptoProperties: {
      assetType: 'related-crypto-material',
      relatedCryptoMaterialProperties: {
        type: 'public-key',
        id,
        state: 'active',
        algorithmRef: algRef,
        size,
        format: 'DER',
      },
    },
  });
  const alg = (ref: string, name: string, props: Json, oid: string): Json => ({
    type: 'cryptographic-asset',
    'bom-ref': ref,
    name,
    cryptoProperties: { assetType: 'algorithm', algorithmProperties: props, oid },
  });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:6a1f0c52-35d4-4c1e-9b8e-2f1d3c4b5a69',
    version: 1,
    metadata: {
      timestamp: '2026-03-01T12:00:00Z',
      component: { type: 'firmware', 'bom-ref': 'fw', name: 'gateway-fw', version: '5.1' },
      supplier: { name: 'Acme Devices', url: ['https://acme.example'] },
    },
    components: [
      {
        type: 'library',
        'bom-ref': 'lib-openssl',
        name: 'openssl',
        version: '3.0.13',
        licenses: [{ license: { id: 'Apache-2.0' } }],
        purl: 'pkg:generic/openssl@3.0.13',
        properties: [{ name: 'acme:build', value: 'fips & "strict"' }],
        components: [{ type: 'library', 'bom-ref': 'lib-mbedtls', name: 'mbedtls', version: '3.6.0' }],
      },
      alg(
        'alg-ecdsa-sha256',
        'ECDSA-SHA256',
        {
          primitive: 'signature',
          curve: 'secp256r1',
          cryptoFunctions: ['sign', 'verify'],
          classicalSecurityLevel: 128,
          nistQuantumSecurityLevel: 0,
        },
        '1.2.840.10045.4.3.2',
      ),
      alg(
        'alg-ec-p256',
        'ECDSA-P256',
        { primitive: 'signature', curve: 'secp256r1', certificationLevel: ['none'] },
        '1.2.840.10045.2.1',
      ),
      alg(
        'alg-rsa-2048',
        'RSA-2048',
        { primitive: 'pke', parameterSetIdentifier: '2048' },
        '1.2.840.113549.1.1.1',
      ),
      key('key-ca', ca.keyId, 'alg-ec-p256', 256),
      key('key-leaf', leaf.keyId, 'alg-rsa-2048', 2048),
      cert('cert-ca', ca, 'key-ca'),
      cert('cert-leaf', leaf, 'key-leaf'),
      {
        type: 'cryptographic-asset',
        'bom-ref': 'proto-tls',
        name: 'TLS 1.3',
        cryptoProperties: {
          assetType: 'protocol',
          protocolProperties: {
            type: 'tls',
            version: '1.3',
            cipherSuites: [
              {
                name: 'TLS_AES_128_GCM_SHA256',
                algorithms: ['alg-ecdsa-sha256'],
                identifiers: ['0x13', '0x01'],
              },
            ],
            cryptoRefArray: ['cert-leaf'],
          },
        },
      },
    ],
    dependencies: [
      { ref: 'cert-ca', dependsOn: ['alg-ecdsa-sha256', 'key-ca'] },
      { ref: 'cert-leaf', dependsOn: ['alg-ecdsa-sha256', 'key-leaf'] },
    ],
  };
}

/**
 * The same model written as CycloneDX 1.6 XML, the way the XSD lays it out: `type`, `bom-ref`,
 * `alg`, `ref` and a property's `name` are attributes; arrays are wrappers of singular items,
 * except `cryptoRefArray` (bare `cryptoRef`s) and a dependency's `dependsOn` (nested dependencies).
 */
function toXml(model: Json): string {
  const esc = (v: unknown): string =>
    String(v).replace(
      /[&<>"']/g,
      (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
    );
  const ITEM: Record<string, string> = { dependencies: 'dependency', properties: 'property', hashes: 'hash' };
  const ATTRS = new Set(['bom-ref', 'alg', 'ref']);
  const el = (tag: string, v: unknown, parent: string): string => {
    if (tag === 'cryptoRefArray')
      return (v as string[]).map((r) => `<cryptoRef>${esc(r)}</cryptoRef>`).join('');
    if (tag === 'certificationLevel')
      return (v as string[]).map((r) => `<${tag}>${esc(r)}</${tag}>`).join('');
    if (tag === 'url' && parent === 'supplier')
      return (v as string[]).map((r) => `<url>${esc(r)}</url>`).join('');
    if (tag === 'dependsOn') return (v as string[]).map((r) => `<dependency ref="${esc(r)}"/>`).join('');
    if (tag === 'licenses')
      return `<licenses>${(v as Json[]).map((l) => el('license', l.license, tag)).join('')}</licenses>`;
    if (Array.isArray(v)) {
      const item = ITEM[tag] ?? tag.replace(/s$/, '');
      return `<${tag}>${v.map((x) => el(item, x, tag)).join('')}</${tag}>`;
    }
    if (typeof v !== 'object' || v === null) return `<${tag}>${esc(v)}</${tag}>`;
    const o = v as Json;
    const isAttr = (k: string): boolean =>
      ATTRS.has(k) || (k === 'type' && tag === 'component') || (k === 'name' && tag === 'property');
    const attrs = Object.keys(o)
      .filter(isAttr)
      .map((k) => ` ${k}="${esc(o[k])}"`)
      .join('');
    const text = tag === 'hash' ? esc(o.content) : tag === 'property' ? esc(o.value) : '';
    const body = Object.keys(o)
      .filter(
        (k) => !isAttr(k) && !(tag === 'hash' && k === 'content') && !(tag === 'property' && k === 'value'),
      )
      .map((k) => el(k, o[k], tag))
      .join('\n');
    return `<${tag}${attrs}>${text}${body}</${tag}>`;
  };
  const { serialNumber, version } = model;
  // bomFormat and specVersion are the namespace in XML; serialNumber and version its attributes.
  const body = Object.entries(model)
    .filter(([k]) => !['bomFormat', 'specVersion', 'serialNumber', 'version'].includes(k))
    .map(([k, v]) => el(k, v, 'bom'))
    .join('\n');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<bom xmlns="http://cyclonedx.org/schema/bom/1.6" serialNumber="${esc(serialNumber)}" version="${esc(version)}">\n${body}\n</bom>\n`
  );
}

function schemaValidator(): (doc: unknown) => string[] {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  formats.default(ajv);
  for (const f of ['spdx.schema.json', 'jsf-0.82.schema.json'])
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as object);
  const v = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, 'bom-1.6.schema.json'), 'utf8')) as object);
  return (doc) => (v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));
}

const KINDS: AssetKind[] = ['certificate', 'key', 'crypto-library', 'artifact', 'signature'];

async function rows(store: Store): Promise<AssetRow[]> {
  const out: AssetRow[] = [];
  for (const kind of KINDS) for await (const r of store.assets({ kind })) out.push(r);
  return out;
}

/** Store rows with where they were seen (file, and the source naming it) taken out. */
async function placeless(store: Store, paths: string[]): Promise<unknown[]> {
  const strip = (s: string): string =>
    paths.reduce(
      (acc, p) => acc.split(declaredSource('Acme Devices', p)).join('<source>').split(p).join('<file>'),
      s,
    );
  return (await rows(store)).map((r) =>
    JSON.parse(
      strip(
        JSON.stringify({
          ...r,
          occurrences: r.occurrences.map(
            ({ firstSeen: _a, lastSeen: _b, scanId: _c, encoding: _e, ...o }) => o,
          ),
        }),
      ),
    ),
  );
}

for (const dialect of dialects())
  describe(`CBOMs found by a scan (CycloneDX 1.6, JSON and XML) on ${dialect}`, { skip: cbomSkip }, () => {
    const base = mkdtempSync(join(tmpdir(), 'kw-cbom-scan-'));
    after(() => rmSync(base, { recursive: true, force: true }));
    let pki: { ca: Issued; leaf: Issued };
    let model: Json;
    let xml: string;
    before(() => {
      mkdirSync(join(base, 'pki'));
      pki = makePki(join(base, 'pki'));
      model = supplierCbom(pki.ca, pki.leaf);
      xml = toXml(model);
    });

    test('the JSON CBOM is valid CycloneDX 1.6, and its XML form converts back to it exactly', () => {
      const validate = schemaValidator();
      assert.deepEqual(validate(model), []);
      const r = cyclonedxXmlToJson(Buffer.from(xml));
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.deepEqual(r.json, model);
    });

    test('XML and JSON of one CBOM give the same store rows: declared assets with provenance, and libraries', async () => {
      const paths = {
        json: join(base, 'j/firmware/gateway.cdx.json'),
        xml: join(base, 'x/firmware/gateway.cdx.xml'),
      };
      mkdirSync(dirname(paths.json), { recursive: true });
      mkdirSync(dirname(paths.xml), { recursive: true });
      writeFileSync(paths.json, JSON.stringify(model, null, 2));
      writeFileSync(paths.xml, xml);
      const j = await openTestStore(dialect);
      const x = await openTestStore(dialect);
      try {
        const sj = await runScan({ roots: [join(base, 'j')], store: j.store, threads: 0 });
        const sx = await runScan({ roots: [join(base, 'x')], store: x.store, threads: 2 });
        assert.equal(sx.cryptoLibraries, 2);
        assert.equal(sx.unparseable, 0);
        assert.equal(sj.cryptoLibraries, sx.cryptoLibraries);
        assert.deepEqual(await placeless(x.store, [paths.xml]), await placeless(j.store, [paths.json]));

        const all = await rows(x.store);
        const source = `Acme Devices at ${paths.xml}`;
        assert.equal(declaredSource('Acme Devices', paths.xml), source);
        const leaf = all.find((r) => r.kind === 'certificate' && r.identity === pki.leaf.fingerprint);
        assert.ok(leaf, 'the device certificate is known by its real fingerprint');
        assert.equal(leaf.subject, pki.leaf.subject);
        assert.equal(leaf.issuer, pki.ca.subject);
        assert.equal(leaf.keyId, pki.leaf.keyId);
        assert.deepEqual([leaf.algorithm, leaf.size], ['RSA', 2048]);
        assert.equal(leaf.notAfter, Date.parse(pki.leaf.notAfter));
        assert.equal(leaf.signatureAlgorithm, 'ECDSA-SHA256');
        assert.deepEqual(
          leaf.occurrences.map((o) => [o.path, o.format]),
          [[`cbom:${source}#cert-leaf`, 'cyclonedx']],
        );
        const ca = all.find((r) => r.kind === 'certificate' && r.identity === pki.ca.fingerprint);
        assert.deepEqual([ca?.algorithm, ca?.curve, ca?.keyId], ['EC', 'P-256', pki.ca.keyId]);
        const keys = all.filter((r) => r.kind === 'key').map((r) => [r.keyId, r.occurrences[0]?.path]);
        assert.deepEqual(
          keys.sort(),
          [
            [pki.ca.keyId, `cbom:${source}#key-ca`],
            [pki.leaf.keyId, `cbom:${source}#key-leaf`],
          ].sort(),
        );
        // The libraries are occurrences of the file itself, as for any SBOM.
        const inv: LibraryItem[] = [];
        for await (const l of libraries(x.store)) inv.push(l);
        assert.deepEqual(inv.map((l) => `${l.library}@${l.version}`).sort(), [
          'mbedtls@3.6.0',
          'openssl@3.0.13',
        ]);
        for (const l of inv)
          assert.deepEqual(
            l.declaredBy.map((d) => d.path),
            [paths.xml],
          );
        // The protocol is not an inventoried kind: nothing else was made of it.
        assert.equal(all.length, 2 + 2 + 2);
      } finally {
        await j.dispose();
        await x.dispose();
      }
    });

    test('bad documents are unparseable occurrences, the rest is stored, and a CBOM deep in a tar.gz is found', async () => {
      const root = join(base, 'mixed');
      mkdirSync(join(root, 'etc/ssl'), { recursive: true });
      writeFileSync(join(root, 'etc/ssl/gw.pem'), pki.leaf.pem);
      writeFileSync(join(root, 'truncated.cdx.xml'), xml.slice(0, Math.floor(xml.length / 2)));
      writeFileSync(
        join(root, 'xxe.cdx.xml'),
        xml.replace('<bom ', '<!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n<bom '),
      );
      // Well-formed and valid as JSON, but one date is not a date: the import refuses it whole.
      const wrong = structuredClone(model);
      const certLeaf = (wrong.components as Json[]).find((c) => c['bom-ref'] === 'cert-leaf')!;
      ((certLeaf.cryptoProperties as Json).certificateProperties as Json).notValidAfter = 'next year';
      writeFileSync(join(root, 'wrong-date.cdx.json'), JSON.stringify(wrong));
      // A deep path inside an archive makes a source far over 200 characters.
      const stage = join(base, 'stage');
      const deep = join(
        'opt',
        ...Array.from({ length: 12 }, (_, i) => `vendor-component-${i}`),
        'sbom#1',
        'cbom.cdx.xml',
      );
      mkdirSync(join(stage, dirname(deep)), { recursive: true });
      writeFileSync(join(stage, deep), xml);
      execFileSync('tar', ['czf', join(root, 'rootfs.tar.gz'), '-C', stage, 'opt']);
      mkdirSync(join(stage, 'z'));
      writeFileSync(join(stage, 'z/gateway.cdx.json'), JSON.stringify(model));
      execFileSync('zip', ['-qr', join(root, 'update.zip'), 'z'], { cwd: stage });

      const ctx = await openTestStore(dialect);
      try {
        const s = await runScan({ roots: [root], store: ctx.store, threads: 0 });
        const problems = await ctx.store.problems();
        const why = (end: string): string => problems.find((p) => p.path.endsWith(end))?.reason ?? '';
        assert.match(why('truncated.cdx.xml'), /not well-formed/);
        assert.match(why('xxe.cdx.xml'), /DTD/);
        assert.match(
          why('wrong-date.cdx.json'),
          /crypto assets not imported: component cert-leaf: notValidAfter/,
        );
        assert.equal(s.unparseable, 3, JSON.stringify(problems));

        // The measured certificate is stored from the PEM, and the CBOM in the archive declares it too.
        const leaf = (await rows(ctx.store)).find((r) => r.identity === pki.leaf.fingerprint)!;
        const inner = `${join(root, 'rootfs.tar.gz')}!/${deep}`;
        const zipped = `${join(root, 'update.zip')}!/z/gateway.cdx.json`;
        const source = declaredSource('Acme Devices', inner);
        assert.ok(inner.length > 200 && source.length <= 200, source);
        assert.match(source, /^Acme Devices at \.\.\..*sbom%231\/cbom\.cdx\.xml \([0-9a-f]{12}\)$/);
        assert.deepEqual(
          leaf.occurrences.map((o) => o.path).sort(),
          [
            join(root, 'etc/ssl/gw.pem'),
            `cbom:${source}#cert-leaf`,
            `cbom:${declaredSource('Acme Devices', zipped)}#cert-leaf`,
          ].sort(),
        );
        assert.equal((leaf.record as Json).sha256, pki.leaf.fingerprint, 'what the scan measured is kept');
        assert.equal(leaf.serial, '1234', 'the measured serial, which the CBOM never stated');
        // The wrong-date document's libraries are still read; only its crypto assets were refused.
        const inv: LibraryItem[] = [];
        for await (const l of libraries(ctx.store)) inv.push(l);
        const openssl3 = inv.find((l) => l.library === 'openssl')!;
        assert.deepEqual(
          openssl3.declaredBy.map((d) => d.path).sort(),
          [inner, zipped, join(root, 'wrong-date.cdx.json')].sort(),
        );
      } finally {
        await ctx.dispose();
      }
    });
  });

describe('the source a scanned BOM is imported under', () => {
  test('is kept as given when short, with # and controls encoded', () => {
    assert.equal(declaredSource('Acme', 'fw/a.cdx.json'), 'Acme at fw/a.cdx.json');
    assert.equal(declaredSource(undefined, 'a#b\n.xml'), 'sbom at a%23b%0A.xml');
    assert.equal(declaredSource('  #1 \t Supplier ', 'x'), '%231 Supplier at x');
  });

  test('keeps the tail and a hash of a long path, never over 200 characters, never splitting a character', () => {
    const long = (end: string): string => `/${'d'.repeat(150)}/\u{1F510}${'e'.repeat(60)}/${end}`;
    const a = declaredSource('S'.repeat(500), long('a.xml'));
    const b = declaredSource('S'.repeat(500), long('b.xml'));
    for (const s of [a, b]) {
      assert.ok(s.length <= 200, `${s.length}`);
      assert.match(s, /^S{64} at \.\.\./);
      assert.doesNotMatch(s, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      assert.match(s, /^[^\s#\x00-\x1f][^#\x00-\x1f]{0,199}$/);
    }
    assert.notEqual(a, b);
    assert.match(a, /\/a\.xml \([0-9a-f]{12}\)$/);
  });
});

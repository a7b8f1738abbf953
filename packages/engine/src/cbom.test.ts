/**
 * CBOM export and import on a small estate made with openssl and ssh-keygen at run time, plus two
 * signatures made with openssl over test images: the export must satisfy the official CycloneDX 1.6
 * schema, name only refs that resolve, carry no private key bytes, and survive an import into a fresh
 * store unchanged; a hand-written foreign CBOM imports with provenance; a bad one changes nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import type { SignatureSummary } from '@keywarden/core';
import type { AssetKind, Store } from '@keywarden/store';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { exportCbom, type CdxComponent, type CycloneDxBom } from './cbom-export.ts';
import { importCbom } from './cbom-import.ts';
import { EngineError } from './error.ts';
import { makeTree, secretNeedles, type Tree } from './fixtures.test-helper.ts';
import { keys } from './inventory.ts';
import { BatchBuilder } from './normalise.ts';
import { buildReport } from './report.ts';
import { runScan } from './scan-job.ts';

// The official schemas live in shared/ beside the repository (CI lays it there too).
const SCHEMAS =
  process.env.KEYWARDEN_CYCLONEDX_SCHEMAS ??
  join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/schemas/cyclonedx');
const AT = Date.parse('2026-03-01T12:00:00Z');

const absent = [
  ...['openssl', 'ssh-keygen'].filter((t) => spawnSync(t, ['version']).error !== undefined),
  ...(existsSync(join(SCHEMAS, 'bom-1.6.schema.json')) ? [] : [`CycloneDX schemas in ${SCHEMAS}`]),
];
const missing =
  absent.length > 0
    ? `missing ${absent.join(', ')} (Debian packages openssl, openssh-client; schemas via KEYWARDEN_CYCLONEDX_SCHEMAS)`
    : undefined;
if (missing && process.env.CI) throw new Error(missing);

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const run = (cmd: string, args: string[], cwd: string): Buffer =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

function schemaValidator(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  formats.default(ajv);
  for (const f of ['spdx.schema.json', 'jsf-0.82.schema.json'])
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as object);
  return ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, 'bom-1.6.schema.json'), 'utf8')) as object);
}

function assertSchemaValid(validate: ValidateFunction, bom: unknown): void {
  const ok = validate(bom);
  assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 2));
}

interface Fixture {
  tree: Tree;
  /** Images, signatures and the outside signer's key: kept out of the scanned tree. */
  side: string;
  leaf: { sha256: string; sha1: string; keyId: string; der: Buffer; subject: string; notAfter: string };
  caSha256: string;
  caKeyId: string;
  outsiderKeyId: string;
  outsiderDer: Buffer;
  signatures: SignatureSummary[];
}

function fixture(): Fixture {
  const tree = makeTree();
  const pki = join(tree.root, 'cloud/pki');
  const side = mkdtempSync(join(tmpdir(), 'kw-cbom-'));
  const leafDer = readFileSync(join(pki, 'leaf.der'));
  const leafX = new X509Certificate(leafDer);
  const caX = new X509Certificate(readFileSync(join(pki, 'ca.pem')));
  const spkiId = (x: X509Certificate): string => sha256(x.publicKey.export({ type: 'spki', format: 'der' }));
  const subject = run(
    'openssl',
    ['x509', '-in', 'leaf.pem', '-noout', '-subject', '-nameopt', 'RFC2253'],
    pki,
  )
    .toString()
    .replace(/^subject=/, '')
    .trim();
  // An RSA signature by the leaf's key over an image, checked with openssl.
  const image = Buffer.alloc(4096, 7);
  writeFileSync(join(side, 'app.bin'), image);
  writeFileSync(join(side, 'leaf.pub'), leafX.publicKey.export({ type: 'spki', format: 'pem' }));
  run('openssl', ['dgst', '-sha256', '-sign', join(pki, 'leaf.key'), '-out', 'app.sig', 'app.bin'], side);
  const verified = run(
    'openssl',
    ['dgst', '-sha256', '-verify', 'leaf.pub', '-signature', 'app.sig', 'app.bin'],
    side,
  ).toString();
  assert.match(verified, /Verified OK/);
  // An Ed25519 signature by a key that appears nowhere else: the store knows it only as a signer.
  run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', 'outsider.key'], side);
  run('openssl', ['pkey', '-in', 'outsider.key', '-pubout', '-out', 'outsider.pub'], side);
  const blob = Buffer.alloc(1000, 3);
  writeFileSync(join(side, 'blob.img'), blob);
  run(
    'openssl',
    ['pkeyutl', '-sign', '-rawin', '-inkey', 'outsider.key', '-in', 'blob.img', '-out', 'blob.sig'],
    side,
  );
  run(
    'openssl',
    [
      'pkeyutl',
      '-verify',
      '-rawin',
      '-pubin',
      '-inkey',
      'outsider.pub',
      '-in',
      'blob.img',
      '-sigfile',
      'blob.sig',
    ],
    side,
  );
  const outsiderKeyId = sha256(
    createPublicKey(readFileSync(join(side, 'outsider.pub'))).export({ type: 'spki', format: 'der' }),
  );
  const leafSha = sha256(leafDer);
  const caSha = sha256(caX.raw);
  const signatures: SignatureSummary[] = [
    {
      sha256: sha256(readFileSync(join(side, 'app.sig'))),
      format: 'detached-pkcs1',
      signer: {
        keyId: spkiId(leafX),
        certificate: leafSha,
        subject,
        issuer: 'CN=Test Root,O=Test OEM',
        serial: leafX.serialNumber.toLowerCase(),
        keyAlgorithm: 'RSA',
        keySize: 2048,
      },
      signatureAlgorithm: 'sha256WithRSAEncryption',
      digestAlgorithm: 'sha256',
      digest: sha256(image),
      status: 'valid',
      signedAt: AT - 86_400_000,
      artifact: { sha256: sha256(image), format: 'firmware', size: image.length },
      certificates: [leafSha, caSha],
      countersignatures: [],
    },
    {
      sha256: sha256(readFileSync(join(side, 'blob.sig'))),
      format: 'raw-ed25519',
      signer: { keyId: outsiderKeyId },
      signatureAlgorithm: 'Ed25519',
      status: 'valid',
      artifact: { sha256: sha256(blob), format: 'blob', size: blob.length },
      certificates: [],
      countersignatures: [],
    },
  ];
  return {
    tree,
    side,
    leaf: {
      sha256: leafSha,
      sha1: createHash('sha1').update(leafDer).digest('hex'),
      keyId: spkiId(leafX),
      der: leafDer,
      subject,
      notAfter: new Date(leafX.validTo).toISOString(),
    },
    caSha256: caSha,
    caKeyId: spkiId(caX),
    outsiderKeyId,
    outsiderDer: run('openssl', ['pkey', '-in', 'outsider.key', '-outform', 'DER'], side),
    signatures,
  };
}

async function addSignatures(store: Store, f: Fixture): Promise<void> {
  const b = new BatchBuilder();
  for (const [i, s] of f.signatures.entries())
    b.add(
      { type: 'signature', offset: 0, encoding: 'binary', signature: s },
      { path: join(f.side, i === 0 ? 'app.bin' : 'blob.img'), layer: 'firmware', mode: 0o644 },
    );
  const scan = await store.beginScan([f.side], AT);
  await store.ingest(scan, AT, b.take());
  await store.finishScan(scan, AT, 'complete', {});
}

const byRef = (bom: CycloneDxBom): Map<string, CdxComponent> =>
  new Map(bom.components.map((c) => [c['bom-ref'], c]));
const prop = (c: CdxComponent | undefined, name: string): string[] =>
  (c?.properties ?? []).filter((p) => p.name === name).map((p) => p.value);
/** A short key's base64 has no 64-character middle line: drop the empty needle that leaves. */
const needles = (ders: readonly Buffer[]): Buffer[] => secretNeedles(ders).filter((n) => n.length > 0);
const signatureRef = (bom: CycloneDxBom, s: SignatureSummary): string =>
  bom.components.find(
    (c) =>
      c.cryptoProperties?.relatedCryptoMaterialProperties?.type === 'signature' &&
      c.cryptoProperties.relatedCryptoMaterialProperties.id === s.sha256,
  )!['bom-ref'];
const dependsOn = (bom: CycloneDxBom, ref: string): string[] =>
  bom.dependencies.find((d) => d.ref === ref)?.dependsOn ?? [];

/** What must survive a trip through import: all but the BOM's identity and where things were seen. */
function comparable(bom: CycloneDxBom): unknown {
  return {
    components: bom.components.map((c) => {
      const rest = { ...c };
      delete rest.evidence;
      const certificateProperties = rest.cryptoProperties?.certificateProperties;
      return {
        ...rest,
        ...(rest.cryptoProperties && {
          cryptoProperties: {
            ...rest.cryptoProperties,
            // The file extension is read off the paths a copy was found at.
            ...(certificateProperties && {
              certificateProperties: { ...certificateProperties, certificateExtension: undefined },
            }),
          },
        }),
        properties: (rest.properties ?? []).filter((p) => p.name !== 'keywarden:occurrence'),
      };
    }),
    dependencies: bom.dependencies,
  };
}

async function snapshot(store: Store): Promise<unknown> {
  const count = async (t: 'scans' | 'keys' | 'assets' | 'occurrences' | 'edges'): Promise<number> =>
    Number(
      (
        await store.db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    counts: await store.counts(),
    scans: await count('scans'),
    keys: await count('keys'),
    assets: await count('assets'),
    occurrences: await count('occurrences'),
    edges: await count('edges'),
  };
}

/** Everything a SQLite store has written; for PostgreSQL, every row as JSON. */
async function storeBytes(store: Store, dialect: string): Promise<Buffer> {
  if (dialect === 'sqlite') {
    const dir = dirname(store.location);
    return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
  }
  const rows = await Promise.all(
    (['scans', 'keys', 'assets', 'occurrences', 'edges'] as const).map((t) =>
      store.db.selectFrom(t).selectAll().execute(),
    ),
  );
  return Buffer.from(JSON.stringify(rows));
}

async function rejectsInvalid(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof EngineError, `an EngineError, not ${String(err)}`);
    assert.equal(err.code, 'INPUT_INVALID');
    assert.match(err.message, message);
    return true;
  });
}

for (const dialect of dialects())
  describe(`CycloneDX CBOM on ${dialect}`, { skip: missing ?? false }, () => {
    let f: Fixture;
    let validate: ValidateFunction;
    const stores: Awaited<ReturnType<typeof openTestStore>>[] = [];
    let a: Store;
    let bom: CycloneDxBom;
    let refs: Map<string, CdxComponent>;

    before(async () => {
      f = fixture();
      validate = schemaValidator();
      stores.push(await openTestStore(dialect));
      a = stores[0]!.store;
      await runScan({ roots: [f.tree.root], store: a, threads: 0, at: AT, maxFileBytes: 200_000 });
      await addSignatures(a, f);
      bom = await exportCbom(a, { at: AT, source: 'test estate' });
      refs = byRef(bom);
    });

    after(async () => {
      for (const s of stores) await s.dispose();
      if (f) for (const d of [f.tree.root, f.side]) rmSync(d, { recursive: true, force: true });
    });

    test('the export satisfies the official CycloneDX 1.6 schema, and a broken copy does not', () => {
      assert.equal(bom.specVersion, '1.6');
      assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f-]{36}$/);
      assert.equal(bom.metadata.timestamp, new Date(AT).toISOString());
      assert.equal(bom.metadata.tools.components[0]?.name, 'keywarden');
      assertSchemaValid(validate, bom);
      const broken = structuredClone(bom);
      broken.components[0]!.cryptoProperties!.assetType = 'secret' as 'algorithm';
      assert.equal(validate(broken), false, 'the validator is live');
    });

    test('every ref resolves to one component, and every component is a node of the graph', () => {
      assert.equal(refs.size, bom.components.length, 'bom-refs are unique');
      const named: string[] = [];
      for (const d of bom.dependencies) named.push(d.ref, ...(d.dependsOn ?? []), ...(d.provides ?? []));
      for (const c of bom.components) {
        const cp = c.cryptoProperties;
        named.push(
          ...[
            cp?.certificateProperties?.signatureAlgorithmRef,
            cp?.certificateProperties?.subjectPublicKeyRef,
            cp?.relatedCryptoMaterialProperties?.algorithmRef,
          ].filter((r): r is string => r !== undefined),
        );
      }
      for (const r of named) assert.ok(refs.has(r), `${r} resolves`);
      assert.deepEqual(
        bom.dependencies.map((d) => d.ref),
        bom.components.map((c) => c['bom-ref']),
      );
    });

    test('certificates carry full DNs, validity, fingerprints and links, as openssl and node see them', () => {
      const leaf = refs.get(`certificate:${f.leaf.sha256}`);
      assert.ok(leaf, 'leaf exported');
      const cp = leaf.cryptoProperties!.certificateProperties!;
      assert.equal(cp.subjectName, f.leaf.subject);
      assert.equal(cp.issuerName, 'CN=Test Root,O=Test OEM');
      assert.equal(cp.notValidAfter, f.leaf.notAfter);
      assert.equal(cp.certificateFormat, 'X.509');
      assert.ok(['pem', 'der', 'crt'].includes(cp.certificateExtension ?? ''));
      assert.deepEqual(leaf.hashes, [
        { alg: 'SHA-256', content: f.leaf.sha256 },
        { alg: 'SHA-1', content: f.leaf.sha1 },
      ]);
      assert.equal(cp.subjectPublicKeyRef, `key:${f.leaf.keyId}`);
      assert.equal(cp.signatureAlgorithmRef, 'algorithm:signature:ecdsa-with-SHA256');
      assert.equal(refs.get(cp.signatureAlgorithmRef!)?.cryptoProperties?.oid, '1.2.840.10045.4.3.2');
      assert.deepEqual(dependsOn(bom, cp.signatureAlgorithmRef!), ['algorithm:hash:sha256']);
      assert.deepEqual(prop(leaf, 'keywarden:der'), [f.leaf.der.toString('base64')]);
      assert.deepEqual(prop(leaf, 'keywarden:isCa'), ['false']);
      const layers = prop(leaf, 'keywarden:occurrence').map(
        (v) => (JSON.parse(v) as { layer: string }).layer,
      );
      assert.deepEqual(layers.sort(), ['cloud', 'cloud', 'enterprise']);
      assert.equal(leaf.evidence?.occurrences.length, 3);
      const dep = bom.dependencies.find((d) => d.ref === leaf['bom-ref'])!;
      assert.deepEqual(dep.dependsOn, ['algorithm:signature:ecdsa-with-SHA256']);
      assert.deepEqual(dep.provides, [`key:${f.leaf.keyId}`]);
    });

    test('keys are described by identity, algorithm and protection, never by a value', () => {
      for (const c of bom.components)
        assert.equal(
          (c.cryptoProperties?.relatedCryptoMaterialProperties as { value?: string } | undefined)?.value,
          undefined,
        );
      const leafKey = refs.get(`key:${f.leaf.keyId}`)!;
      const rcm = leafKey.cryptoProperties!.relatedCryptoMaterialProperties!;
      assert.equal(rcm.type, 'private-key');
      assert.equal(rcm.id, f.leaf.keyId);
      assert.equal(rcm.size, 2048);
      const rsa = refs.get(rcm.algorithmRef!)!.cryptoProperties!;
      assert.equal(rsa.oid, '1.2.840.113549.1.1.1');
      assert.deepEqual(rsa.algorithmProperties, {
        primitive: 'pke',
        parameterSetIdentifier: '2048',
        cryptoFunctions: ['encrypt', 'decrypt', 'sign', 'verify'],
        classicalSecurityLevel: 112,
        nistQuantumSecurityLevel: 0,
      });
      const plain = prop(leafKey, 'keywarden:occurrence')
        .map(
          (v) =>
            JSON.parse(v) as { location: string; private?: boolean; encrypted?: boolean; fileMode?: string },
        )
        .find((o) => o.location.endsWith('leaf.key'))!;
      assert.deepEqual([plain.private, plain.encrypted, plain.fileMode], [true, false, '0644']);
      const ca = refs.get(`key:${f.caKeyId}`)!.cryptoProperties!.relatedCryptoMaterialProperties!;
      assert.equal(refs.get(ca.algorithmRef!)?.cryptoProperties?.algorithmProperties?.curve, 'nist/P-384');
      // The encrypted copy of the leaf key cannot be opened: it is known by its container's hash.
      const sealed = bom.components.filter((c) => prop(c, 'keywarden:sealed').length > 0);
      assert.equal(sealed.length, 1);
      assert.equal(sealed[0]!.cryptoProperties!.relatedCryptoMaterialProperties!.id, undefined);
      // The outside signer has no keys row: it still gets a component so the signature's ref resolves.
      const outsider = refs.get(`key:${f.outsiderKeyId}`)!;
      assert.equal(outsider.cryptoProperties!.relatedCryptoMaterialProperties!.type, 'public-key');
      assert.equal(outsider.evidence, undefined);
    });

    test('signatures and artifacts: who signed what, with which algorithm, as a graph', () => {
      const [s1, s2] = f.signatures as [SignatureSummary, SignatureSummary];
      const sig = refs.get(signatureRef(bom, s1))!;
      const rcm = sig.cryptoProperties!.relatedCryptoMaterialProperties!;
      assert.deepEqual([rcm.type, rcm.id], ['signature', s1.sha256]);
      assert.equal(refs.get(rcm.algorithmRef!)?.cryptoProperties?.oid, '1.2.840.113549.1.1.11');
      assert.deepEqual(prop(sig, 'keywarden:status'), ['valid']);
      assert.deepEqual(prop(sig, 'keywarden:digest'), [s1.digest]);
      assert.deepEqual(prop(sig, 'keywarden:signer.keyId'), [f.leaf.keyId]);
      assert.deepEqual(
        dependsOn(bom, sig['bom-ref']),
        [
          'algorithm:hash:sha256',
          'algorithm:signature:sha256WithRSAEncryption',
          `certificate:${f.leaf.sha256}`,
          `key:${f.leaf.keyId}`,
        ].sort(),
      );
      const fw = refs.get(`artifact:${s1.artifact.sha256}`)!;
      assert.equal(fw.type, 'firmware');
      assert.equal(fw.name, 'app.bin');
      assert.deepEqual(fw.hashes, [{ alg: 'SHA-256', content: s1.artifact.sha256 }]);
      assert.deepEqual(
        dependsOn(bom, fw['bom-ref']),
        [`certificate:${f.caSha256}`, `certificate:${f.leaf.sha256}`, signatureRef(bom, s1)].sort(),
      );
      assert.equal(refs.get(`artifact:${s2.artifact.sha256}`)?.type, 'file');
      assert.deepEqual(dependsOn(bom, signatureRef(bom, s2)), [
        'algorithm:signature:Ed25519',
        `key:${f.outsiderKeyId}`,
      ]);
      const csr = bom.components.find((c) => prop(c, 'keywarden:kind')[0] === 'csr')!;
      assert.equal(csr.cryptoProperties?.relatedCryptoMaterialProperties?.type, 'other');
      assert.ok(dependsOn(bom, csr['bom-ref']).includes(`key:${f.leaf.keyId}`));
    });

    test('no private key bytes anywhere in the export', () => {
      const text = Buffer.from(JSON.stringify(bom));
      for (const n of needles([...f.tree.privateDers, f.outsiderDer]))
        assert.equal(text.indexOf(n), -1, 'private key material found in the CBOM');
      assert.doesNotMatch(text.toString(), /PRIVATE KEY-----/);
    });

    test('export -> import into a fresh store -> export gives the same components and graph', async () => {
      stores.push(await openTestStore(dialect));
      const b = stores[stores.length - 1]!.store;
      const s = await importCbom(JSON.stringify(bom), b, { source: 'estate-a', at: AT });
      const counts = await a.counts();
      assert.deepEqual(
        [s.certificates, s.keys, s.signatures, s.artifacts, s.csrs, s.skipped],
        [
          counts.certificate,
          bom.components.filter((c) => c['bom-ref'].startsWith('key:')).length,
          2,
          2,
          1,
          0,
        ],
      );
      const again = await exportCbom(b, { at: AT });
      assertSchemaValid(validate, again);
      assert.deepEqual(comparable(again), comparable(bom));
      // Provenance: the only place an imported asset was seen is the BOM that declared it.
      for (const kind of ['certificate', 'key', 'signature', 'artifact'] as AssetKind[])
        for await (const row of b.assets({ kind }))
          assert.deepEqual(
            row.occurrences.map((o) => [o.path, o.format]),
            [[`cbom:estate-a#${row.id}`, 'cyclonedx']],
          );
      // Certificates were parsed again from their DER: the record is the one the scan made.
      const records = async (st: Store): Promise<Map<string, unknown>> => {
        const m = new Map<string, unknown>();
        for await (const row of st.assets({ kind: 'certificate' })) m.set(row.id, row.record);
        return m;
      };
      assert.deepEqual(await records(b), await records(a));
      const report = await buildReport(b, { at: AT });
      assert.ok(
        report.chains.items.some(
          (i) => i.path.length > 1 && !i.errors.some((e) => /^(signature\.|path\.)/.test(e.rule)),
        ),
        'the chain verifies from imported DER',
      );
      const leafKey = (await (async () => {
        for await (const k of keys(b)) if (k.keyId === f.leaf.keyId) return k;
        return undefined;
      })())!;
      assert.equal(leafKey.private, true);
      assert.equal(leafKey.occurrences[0]?.encrypted, false, 'one plain copy keeps the key marked plain');
      // Importing the same file again adds nothing.
      const before = await snapshot(b);
      await importCbom(JSON.stringify(bom), b, { source: 'estate-a', at: AT });
      const afterAgain = (await snapshot(b)) as { scans: number };
      assert.deepEqual({ ...afterAgain, scans: afterAgain.scans - 1 }, before);
    });

    test("a foreign tool's CBOM imports with provenance, and a key's value is never stored", async () => {
      stores.push(await openTestStore(dialect));
      const c = stores[stores.length - 1]!.store;
      const secretDer = run('openssl', ['genpkey', '-algorithm', 'ed25519', '-outform', 'DER'], f.side);
      const secretId = sha256(
        createPublicKey(createPrivateKey({ key: secretDer, format: 'der', type: 'pkcs8' })).export({
          type: 'spki',
          format: 'der',
        }),
      );
      const foreign = (ids: string[]) => ({
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        serialNumber: 'urn:uuid:6b1c1a6e-93e8-4a3b-8f43-0d0c5b3f2f10',
        version: 1,
        metadata: { timestamp: '2026-02-01T00:00:00Z' },
        components: [
          {
            type: 'cryptographic-asset',
            'bom-ref': ids[0],
            name: 'SHA256withRSA',
            cryptoProperties: {
              assetType: 'algorithm',
              algorithmProperties: { primitive: 'signature', cryptoFunctions: ['verify'] },
              oid: '1.2.840.113549.1.1.11',
            },
          },
          {
            type: 'cryptographic-asset',
            'bom-ref': ids[1],
            name: 'RSA-2048',
            cryptoProperties: {
              assetType: 'algorithm',
              algorithmProperties: { primitive: 'pke', parameterSetIdentifier: '2048' },
              oid: '1.2.840.113549.1.1.1',
            },
          },
          {
            type: 'cryptographic-asset',
            'bom-ref': ids[2],
            name: `key@${ids[2]}`,
            cryptoProperties: {
              assetType: 'related-crypto-material',
              relatedCryptoMaterialProperties: { type: 'public-key', algorithmRef: ids[1] },
            },
          },
          {
            type: 'cryptographic-asset',
            'bom-ref': ids[3],
            name: 'Supplier Root',
            evidence: { occurrences: [{ location: 'etc/ssl/supplier.pem', line: 1 }] },
            cryptoProperties: {
              assetType: 'certificate',
              certificateProperties: {
                subjectName: 'CN=Supplier Root',
                issuerName: 'CN=Supplier Root',
                notValidBefore: '2024-01-01T00:00:00Z',
                notValidAfter: '2034-01-01T00:00:00Z',
                signatureAlgorithmRef: ids[0],
                subjectPublicKeyRef: ids[2],
                certificateFormat: 'X.509',
                certificateExtension: 'pem',
              },
            },
          },
          {
            type: 'cryptographic-asset',
            'bom-ref': ids[4],
            name: 'Supplier Leaf',
            hashes: [{ alg: 'SHA-256', content: 'AB'.repeat(32) }],
            cryptoProperties: {
              assetType: 'certificate',
              certificateProperties: {
                subjectName: 'CN=Supplier Leaf',
                notValidAfter: '2027-01-01T00:00:00Z',
              },
            },
          },
          {
            type: 'cryptographic-asset',
            'bom-ref': ids[5],
            name: 'device key',
            cryptoProperties: {
              assetType: 'related-crypto-material',
              relatedCryptoMaterialProperties: {
                type: 'private-key',
                id: secretId,
                value: secretDer.toString('base64'),
              },
            },
          },
          {
            type: 'cryptographic-asset',
            'bom-ref': ids[6],
            name: 'TLS',
            cryptoProperties: { assetType: 'protocol', protocolProperties: { type: 'tls', version: '1.3' } },
          },
          { type: 'library', 'bom-ref': ids[7], name: 'openssl', version: '3.0.2' },
        ],
        dependencies: [{ ref: ids[3], dependsOn: [ids[0], ids[2]] }],
      });
      const ids = Array.from({ length: 8 }, (_, i) => `0e6c4d3a-5b1f-4c3e-9a7d-00000000000${i}`);
      const declared = foreign(ids);
      assertSchemaValid(validate, declared);
      const s = await importCbom(Buffer.from(JSON.stringify(declared)), c, {
        source: 'cbomkit-demo',
        at: AT,
      });
      assert.deepEqual(
        [s.certificates, s.keys, s.algorithms, s.skipped],
        [2, 2, 2, 2],
        JSON.stringify(s.notes),
      );
      assert.ok(s.notes.some((n) => /value was ignored/.test(n)));
      const certs = new Map<string, Awaited<ReturnType<typeof firstCert>>>();
      async function firstCert(st: Store, subject: string) {
        for await (const row of st.assets({ kind: 'certificate' })) if (row.subject === subject) return row;
        return undefined;
      }
      for (const n of ['CN=Supplier Root', 'CN=Supplier Leaf']) certs.set(n, await firstCert(c, n));
      const root = certs.get('CN=Supplier Root')!;
      assert.equal(root.notAfter, Date.parse('2034-01-01T00:00:00Z'));
      assert.equal(root.signatureAlgorithm, 'SHA256withRSA');
      assert.deepEqual([root.algorithm, root.size], ['RSA', 2048]);
      assert.deepEqual(
        root.occurrences.map((o) => [o.path, o.format]),
        [[`cbom:cbomkit-demo#${ids[3]}`, 'cyclonedx']],
      );
      assert.equal(
        certs.get('CN=Supplier Leaf')!.identity,
        'ab'.repeat(32),
        'identity from the given SHA-256',
      );
      const device = (await (async () => {
        for await (const k of keys(c)) if (k.keyId === secretId) return k;
        return undefined;
      })())!;
      assert.equal(device.private, true);
      for (const n of needles([secretDer]))
        assert.equal((await storeBytes(c, dialect)).indexOf(n), -1, 'a declared key value reached the store');
      // The same declaration drawn with fresh bom-refs (as CBOMkit does on every run) is the same asset.
      const fresh = ids.map((id) => id.replace('0e6c', '7f7f'));
      await importCbom(JSON.stringify(foreign(fresh)), c, { source: 'cbomkit-demo', at: AT });
      assert.equal((await c.counts()).certificate, 2);
      assert.equal((await firstCert(c, 'CN=Supplier Root'))!.occurrences.length, 2);
      // What was declared exports again, valid, without claiming a fingerprint it never had.
      const out = await exportCbom(c, { at: AT });
      assertSchemaValid(validate, out);
      const rootOut = byRef(out).get(root.id)!;
      assert.equal(rootOut.hashes, undefined);
      assert.deepEqual(prop(rootOut, 'keywarden:identity'), [root.identity]);
    });

    test('a malformed CBOM fails with INPUT_INVALID naming the component, and stores nothing', async () => {
      const unchanged = await snapshot(a);
      const leafRef = `certificate:${f.leaf.sha256}`;
      const withLeaf = (edit: (c: CdxComponent) => void): string => {
        const copy = structuredClone(bom);
        edit(copy.components.find((c) => c['bom-ref'] === leafRef)!);
        return JSON.stringify(copy);
      };
      const setDer = (der: Buffer) => (c: CdxComponent) => {
        c.properties = c.properties!.map((p) =>
          p.name === 'keywarden:der' ? { name: p.name, value: der.toString('base64') } : p,
        );
      };
      const flipped = Buffer.from(f.leaf.der);
      flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0x01, flipped.length - 1);
      const cases: [string, string, RegExp][] = [
        ['not JSON', '{"bomFormat": "CycloneDX", ', /the BOM: not JSON/],
        ['wrong format', JSON.stringify({ bomFormat: 'SPDX', specVersion: '1.6' }), /bomFormat/],
        ['old version', JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.4' }), /specVersion "1.4"/],
        [
          'components not a list',
          JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: {} }),
          /components is not an array/,
        ],
        [
          'truncated DER',
          withLeaf(setDer(f.leaf.der.subarray(0, 300))),
          new RegExp(
            `component ${leafRef}: keywarden:der is not a certificate: .*(past the end|truncated|offset)`,
          ),
        ],
        [
          'tampered DER',
          withLeaf(setDer(flipped)),
          new RegExp(`component ${leafRef}: its SHA-256 hash does not match`),
        ],
        [
          'bad date',
          withLeaf((c) => {
            c.properties = c.properties!.filter((p) => p.name !== 'keywarden:der');
            c.cryptoProperties!.certificateProperties!.notValidAfter = 'next year';
          }),
          new RegExp(`component ${leafRef}: notValidAfter "next year" is not an ISO 8601`),
        ],
        [
          'private key in a name',
          withLeaf((c) => {
            c.name = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----';
          }),
          new RegExp(`component ${leafRef}: carries a PEM private key`),
        ],
        [
          'deep nesting',
          // Spliced into the text: JSON.stringify itself cannot write a value this deep.
          JSON.stringify(bom).replace(
            `"bom-ref":"${leafRef}"`,
            `"x":${'['.repeat(5000)}${']'.repeat(5000)},"bom-ref":"${leafRef}"`,
          ),
          new RegExp(`component ${leafRef}: nested deeper than 32`),
        ],
        [
          'duplicate bom-ref',
          (() => {
            const copy = structuredClone(bom);
            copy.components.push(structuredClone(copy.components[0]!));
            return JSON.stringify(copy);
          })(),
          /its bom-ref is used twice/,
        ],
        [
          'signature summary with a bad status',
          (() => {
            const copy = structuredClone(bom);
            const sig = copy.components.find((c) => c['bom-ref'].startsWith('signature:'))!;
            sig.properties = sig.properties!.map((p) =>
              p.name === 'keywarden:summary'
                ? { name: p.name, value: p.value.replace('"status":"valid"', '"status":"trusted"') }
                : p,
            );
            return JSON.stringify(copy);
          })(),
          /component signature:[0-9a-f]{64}: keywarden:summary.status is not one of valid, invalid, unverified/,
        ],
      ];
      for (const [what, text, why] of cases) {
        await rejectsInvalid(importCbom(text, a, { source: 'bad', at: AT }), why);
        assert.deepEqual(await snapshot(a), unchanged, `${what}: the store is unchanged`);
      }
    });
  });

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toolsMissing } from '@keywarden/testkit';
import { CA, LEAF, OpensslPki, type Issued } from '../../analyze/src/path/openssl-chain.test-helper.ts';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { analyzeChains } from './chains.ts';
import { trustGraph, toDot } from './graph.ts';
import { buildReport } from './report.ts';
import { runScan } from './scan-job.ts';

/**
 * An estate made with openssl whose chain of trust has one of each gap the analysis must name:
 * a root only in a plain file, a shared device key, a duplicate serial, an orphan, an unknown
 * critical extension, a CA key in a plain file and a code-signing key in CI configuration.
 */
for (const dialect of dialects())
  describe(`chain of trust on ${dialect}`, { skip: toolsMissing('openssl') }, () => {
    let pki: OpensslPki;
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let root: Issued,
      inter: Issued,
      dev1: Issued,
      dev2: Issued,
      dup: Issued,
      crit: Issued,
      orphan: Issued,
      signer: Issued;
    let at: number;
    const tree = (): string => join(pki.dir, 'estate');

    before(async () => {
      pki = new OpensslPki();
      root = pki.root('root', { subj: '/O=Acme/CN=Acme Root' });
      inter = pki.issue('inter', root, [...CA, 'crlDistributionPoints=URI:http://crl.example/inter.crl'], {
        subj: '/O=Acme/CN=Acme Device CA',
      });
      const leafExt = [...LEAF, 'extendedKeyUsage=clientAuth'];
      dev1 = pki.issue('dev1', inter, leafExt, { subj: '/O=Acme/CN=device 1', serial: 7001 });
      dev2 = pki.issue('dev2', inter, leafExt, { subj: '/O=Acme/CN=device 2', keyFile: dev1.keyFile });
      dup = pki.issue('dup', inter, leafExt, { subj: '/O=Acme/CN=device 3', serial: 7001 });
      crit = pki.issue('crit', inter, [...leafExt, '1.3.6.1.4.1.55555.9=critical,DER:0500'], {
        subj: '/O=Acme/CN=device 4',
      });
      const stranger = pki.root('stranger', { subj: '/CN=Unknown CA' });
      orphan = pki.issue('orphan', stranger, leafExt, { subj: '/CN=orphan' });
      signer = pki.issue('signer', inter, [...LEAF, 'extendedKeyUsage=codeSigning'], {
        subj: '/O=Acme/CN=release signer',
      });
      const put = (rel: string, src: string): void => {
        mkdirSync(join(tree(), rel, '..'), { recursive: true });
        copyFileSync(src, join(tree(), rel));
      };
      put('cloud/truststore/root.pem', root.certFile);
      put('cloud/ca/inter.pem', inter.certFile);
      put('pki/inter.key', inter.keyFile);
      for (const c of [dev1, dev2, dup, crit, orphan]) put(`device/${c.name}.pem`, c.certFile);
      put('firmware/signer.pem', signer.certFile);
      // Two units provisioned with the same device key; the CA key sits once, outside any device.
      put('device/unit-a/device.key', dev1.keyFile);
      put('device/unit-b/device.key', dev1.keyFile);
      writeFileSync(
        join(tree(), '.gitlab-ci.yml'),
        `release:\n  variables:\n    SIGNING_KEY: |\n${readFileSync(signer.keyFile, 'latin1').replace(/^/gm, '      ')}\n`,
      );
      at = dev1.cert.notBefore + 86_400_000;
      ctx = await openTestStore(dialect);
      await runScan({ roots: [tree()], store: ctx.store, at, threads: 0 });
    });
    after(async () => {
      await ctx?.dispose();
      pki?.cleanup();
    });

    test('every leaf gets its best path and where it ends', async () => {
      const a = await analyzeChains(ctx.store, { at });
      const by = new Map(a.items.map((i) => [i.sha256, i]));
      const d1 = by.get(dev1.cert.sha256)!;
      assert.equal(d1.status, 'valid');
      assert.deepEqual(d1.path, [dev1.cert.sha256, inter.cert.sha256, root.cert.sha256]);
      assert.match(d1.anchor!.trustStores.join(), /trust store at .*truststore\/root\.pem/);
      assert.equal(by.get(crit.cert.sha256)!.status, 'invalid');
      assert.deepEqual(
        by.get(crit.cert.sha256)!.errors.map((e) => e.rule),
        ['extension.unknown-critical'],
      );
      assert.equal(by.get(orphan.cert.sha256)!.status, 'no-anchor');
      // Later than the leaves' lifetime, time being an input, the same store says expired.
      const late = await analyzeChains(ctx.store, { at: dev1.cert.notAfter + 1000 });
      assert.ok(
        late.items
          .find((i) => i.sha256 === dev1.cert.sha256)!
          .errors.some((e) => e.rule === 'validity.expired'),
      );
    });

    test('the gap findings name each gap with its subjects', async () => {
      const r = await buildReport(ctx.store, { at });
      const rules = (rule: string): string[] =>
        r.findings.filter((f) => f.rule === rule).map((f) => f.subject);
      assert.deepEqual(rules('KW-CHAIN-ISSUER-MISSING'), [orphan.cert.sha256]);
      assert.deepEqual(rules('KW-EXTENSION-UNKNOWN-CRITICAL'), [crit.cert.sha256]);
      assert.deepEqual(rules('KW-CHAIN-INVALID'), [crit.cert.sha256]);
      assert.deepEqual(rules('KW-KEY-SHARED'), [`key:${dev1.cert.publicKey.keyId}`]);
      assert.deepEqual(rules('KW-PRIVATE-KEY-SHARED'), [`key:${dev1.cert.publicKey.keyId}`]);
      const dupFinding = r.findings.find((f) => f.rule === 'KW-SERIAL-DUPLICATE')!;
      assert.deepEqual([...dupFinding.subjects!].sort(), [dev1.cert.sha256, dup.cert.sha256].sort());
      const custody = r.findings.filter((f) => f.rule === 'KW-SIGNING-KEY-UNMANAGED');
      assert.ok(
        custody.some((f) => f.severity === 'critical' && /CI configuration/.test(f.message)),
        'signing key in CI',
      );
      assert.ok(
        custody.some(
          (f) => f.subject === `key:${inter.cert.publicKey.keyId}` && /plain file/.test(f.message),
        ),
      );
      // The leaves name no CRL or OCSP; the intermediate names a CRL.
      const revocation = rules('KW-REVOCATION-NONE');
      assert.ok(revocation.includes(dev1.cert.sha256));
      assert.ok(!revocation.includes(inter.cert.sha256));
      // The root sits in a trust store: no uncontrolled-anchor finding for paths ending there.
      assert.ok(!rules('KW-ANCHOR-UNCONTROLLED').includes(root.cert.sha256));
      const early = await buildReport(ctx.store, { at, supportEnd: root.cert.notAfter + 86_400_000 });
      assert.ok(
        early.findings.some(
          (f) => f.rule === 'KW-ANCHOR-EXPIRES-BEFORE-SUPPORT-END' && f.subject === root.cert.sha256,
        ),
      );
      assert.equal(r.chains.anchors[0]?.sha256, root.cert.sha256);
    });

    test('the graph joins issued-by and certifies edges with their reasons, and --around narrows it', async () => {
      const a = await analyzeChains(ctx.store, { at });
      const g = await trustGraph(ctx.store, a);
      const issued = g.edges.find(
        (e) => e.kind === 'issued-by' && e.from === `certificate:${dev1.cert.sha256}`,
      )!;
      assert.equal(issued.to, `certificate:${inter.cert.sha256}`);
      assert.match(issued.reason, /AKI keyIdentifier = issuer SKI; signature verified/);
      assert.ok(g.edges.some((e) => e.kind === 'certifies' && e.to === `key:${dev1.cert.publicKey.keyId}`));
      const node = g.nodes.find((n) => n.id === `certificate:${dev1.cert.sha256}`)!;
      assert.equal(node.layer, 'device');
      const near = await trustGraph(ctx.store, a, { around: dev1.cert.sha256.slice(0, 12), depth: 1 });
      assert.deepEqual(
        near.nodes.map((n) => n.id).sort(),
        [
          `certificate:${dev1.cert.sha256}`,
          `certificate:${inter.cert.sha256}`,
          `key:${dev1.cert.publicKey.keyId}`,
        ].sort(),
      );
      assert.match(
        toDot(near),
        /^digraph trust \{[\s\S]*-> "certificate:[0-9a-f]{64}" \[label="issued-by"\];/,
      );
    });
  });

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { toolsMissing } from '@keywarden/testkit';
import { CertIndex, validateBest } from './paths.ts';
import { CA, LEAF, OpensslPki, type Issued } from './openssl-chain.test-helper.ts';
import type { PathResult, ValidationOptions } from './types.ts';
import { validatePath } from './validate.ts';

const rules = (r: PathResult): string[] => r.errors.map((e) => `${e.rule}@${e.index}`).sort();

describe('RFC 5280 path validation over openssl-made chains', { skip: toolsMissing('openssl') }, () => {
  let pki: OpensslPki;
  let root: Issued;
  let inter: Issued;
  let leaf: Issued;
  let at: number;
  const check = (chain: Issued[], o: Partial<ValidationOptions> = {}): PathResult =>
    validatePath(chain, { at, ...o });

  before(() => {
    pki = new OpensslPki();
    root = pki.root('root');
    inter = pki.issue('inter', root, CA);
    leaf = pki.issue(
      'leaf',
      inter,
      [...LEAF, 'extendedKeyUsage=codeSigning', 'subjectAltName=DNS:ecu.example.com'],
      {
        days: 400,
      },
    );
    at = leaf.cert.notBefore + 86_400_000;
  });
  after(() => pki?.cleanup());

  test('a three-level chain is valid, and openssl agrees', () => {
    const r = check([leaf, inter, root], { purpose: 'code-signing', name: 'ecu.example.com' });
    assert.deepEqual(rules(r), []);
    assert.equal(r.valid, true);
    assert.deepEqual(r.path, [leaf.cert.sha256, inter.cert.sha256, root.cert.sha256]);
    assert.equal(pki.opensslVerify(leaf, root, [inter], ['-purpose', 'any']), true);
  });

  test('validity: notAfter itself is valid, one second later is not; before notBefore is not yet valid', () => {
    assert.equal(check([leaf, inter, root], { at: leaf.cert.notAfter }).valid, true);
    assert.deepEqual(rules(check([leaf, inter, root], { at: leaf.cert.notAfter + 1000 })), [
      'validity.expired@0',
    ]);
    const early = rules(check([leaf, inter, root], { at: leaf.cert.notBefore - 1000 }));
    assert.ok(early.includes('validity.not-yet-valid@0'));
    assert.ok(early.every((r) => r.startsWith('validity.not-yet-valid@')));
  });

  test('an expired anchor is a warning, not a failure (RFC 5280 §6.1.1(d))', () => {
    const r = check([leaf, inter, root], { at: root.cert.notAfter + 1000 });
    assert.ok(r.warnings?.some((w) => w.rule === 'anchor.validity'));
    assert.ok(!r.errors.some((e) => e.index === 2));
  });

  test('a signature by another key fails signature.invalid at the right position', () => {
    const other = pki.root('other', { subj: '/CN=root' });
    assert.deepEqual(rules(check([leaf, inter, other])), ['signature.invalid@1']);
  });

  test('every signature algorithm the issue names verifies', () => {
    for (const kind of ['rsa', 'p384', 'p521', 'ed25519', 'ed448'] as const) {
      const r = pki.root(`root-${kind}`, { kind });
      const l = pki.issue(`leaf-${kind}`, r, LEAF, { kind: 'p256' });
      assert.equal(check([l, r]).valid, true, kind);
    }
    const rsa = pki.root('root-pss', { kind: 'rsa' });
    const pss = pki.issue('leaf-pss', rsa, LEAF, {
      sigopt: ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32'],
    });
    assert.match(pss.cert.signatureAlgorithm.name, /pss/i);
    assert.equal(check([pss, rsa]).valid, true);
  });

  test('a tampered certificate fails its signature', () => {
    const der = Uint8Array.from(leaf.der);
    // Flip a byte of the subject public key, inside the signed TBS.
    const i = leaf.cert.tbs.end - 40;
    der[i] = der[i]! ^ 1;
    const forged = { ...leaf, der };
    assert.deepEqual(rules(check([forged, inter, root])), ['signature.invalid@0']);
  });

  test('issuer name must chain', () => {
    const stranger = pki.issue('stranger', root, CA, { subj: '/CN=stranger', keyFile: inter.keyFile });
    assert.ok(rules(check([leaf, stranger, root])).includes('name.chaining@0'));
  });

  test('an intermediate that is not a CA, or lacks keyCertSign, cannot issue', () => {
    const notCa = pki.issue('not-ca', root, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,keyCertSign',
    ]);
    const l1 = pki.issue('l1', notCa, LEAF);
    assert.deepEqual(rules(check([l1, notCa, root])), ['basic-constraints.not-ca@1']);
    const noSign = pki.issue('no-sign', root, [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,digitalSignature',
    ]);
    const l2 = pki.issue('l2', noSign, LEAF);
    assert.deepEqual(rules(check([l2, noSign, root])), ['key-usage.key-cert-sign@1']);
    assert.equal(pki.opensslVerify(l2, root, [noSign]), false);
  });

  test('pathLen 0 allows a leaf but not another CA below', () => {
    const p0 = pki.issue('p0', root, [
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign',
    ]);
    const sub = pki.issue('sub', p0, CA);
    const l = pki.issue('l-sub', sub, LEAF);
    assert.equal(check([pki.issue('l-p0', p0, LEAF), p0, root]).valid, true);
    assert.deepEqual(rules(check([l, sub, p0, root])), ['basic-constraints.path-length@1']);
    assert.equal(pki.opensslVerify(l, root, [sub, p0]), false);
  });

  test('EKU: a code-signing leaf is not valid for server auth; a CA restricted to clientAuth cannot issue code signing', () => {
    assert.deepEqual(rules(check([leaf, inter, root], { purpose: 'server-auth' })), ['eku.purpose@0']);
    const clientCa = pki.issue('client-ca', root, [...CA, 'extendedKeyUsage=clientAuth']);
    const l = pki.issue('l-client', clientCa, [...LEAF, 'extendedKeyUsage=codeSigning']);
    assert.deepEqual(rules(check([l, clientCa, root], { purpose: 'code-signing' })), ['eku.purpose@1']);
    assert.equal(check([l, clientCa, root]).valid, true, 'no purpose asked, nothing to constrain');
  });

  test('leaf key usage must fit the purpose', () => {
    const l = pki.issue(
      'l-ke',
      inter,
      ['basicConstraints=CA:FALSE', 'keyUsage=critical,keyEncipherment', 'extendedKeyUsage=codeSigning'],
      { kind: 'rsa' },
    );
    assert.deepEqual(rules(check([l, inter, root], { purpose: 'code-signing' })), ['key-usage.leaf@0']);
  });

  test('name constraints: permitted and excluded subtrees', () => {
    const nc = pki.issue('nc', root, [
      ...CA,
      'nameConstraints=critical,permitted;DNS:.example.com,excluded;DNS:bad.example.com',
    ]);
    const ok = pki.issue('nc-ok', nc, [...LEAF, 'subjectAltName=DNS:a.example.com']);
    const out = pki.issue('nc-out', nc, [...LEAF, 'subjectAltName=DNS:a.example.org']);
    const bad = pki.issue('nc-bad', nc, [...LEAF, 'subjectAltName=DNS:x.bad.example.com']);
    assert.equal(check([ok, nc, root]).valid, true);
    assert.deepEqual(rules(check([out, nc, root])), ['name-constraints.permitted@0']);
    assert.deepEqual(rules(check([bad, nc, root])), ['name-constraints.excluded@0']);
    assert.equal(pki.opensslVerify(out, root, [nc]), false);
  });

  test('--name must be among the leaf names', () => {
    assert.equal(check([leaf, inter, root], { name: 'ECU.example.com' }).valid, true);
    assert.deepEqual(rules(check([leaf, inter, root], { name: 'other.example.com' })), ['name.mismatch@0']);
  });

  test('an unknown critical extension fails on any certificate of the path', () => {
    const l = pki.issue('l-crit', inter, [...LEAF, '1.3.6.1.4.1.55555.1=critical,DER:0500']);
    assert.deepEqual(rules(check([l, inter, root])), ['extension.unknown-critical@0']);
    const i2 = pki.issue('i-crit', root, [...CA, '1.3.6.1.4.1.55555.1=critical,DER:0500']);
    assert.deepEqual(rules(check([pki.issue('l-i2', i2, LEAF), i2, root])), ['extension.unknown-critical@1']);
    assert.equal(pki.opensslVerify(l, root, [inter]), false);
  });

  test('policies: require explicit policy, mapping, inhibit any', () => {
    const P1 = '1.3.6.1.4.1.55555.2.1';
    const P2 = '1.3.6.1.4.1.55555.2.2';
    const req = pki.issue('pol-req', root, [
      ...CA,
      `certificatePolicies=${P1}`,
      'policyConstraints=requireExplicitPolicy:0',
    ]);
    const good = pki.issue('pol-good', req, [...LEAF, `certificatePolicies=${P1}`]);
    const none = pki.issue('pol-none', req, LEAF);
    const r = check([good, req, root]);
    assert.equal(r.valid, true);
    assert.deepEqual(r.policies, [P1]);
    assert.deepEqual(rules(check([none, req, root])), ['policy.explicit-required@0']);
    assert.deepEqual(
      rules(check([good, req, root], { initialPolicies: [P2], requireExplicitPolicy: true })),
      ['policy.explicit-required@0'],
    );

    // The CA maps its P1 to the subject's P2: a leaf asserting P2 carries the user's P1.
    const map = pki.issue('pol-map', root, [
      ...CA,
      `certificatePolicies=${P1}`,
      `policyMappings=${P1}:${P2}`,
    ]);
    const mapped = pki.issue('pol-mapped', map, [...LEAF, `certificatePolicies=${P2}`]);
    assert.equal(
      check([mapped, map, root], { initialPolicies: [P1], requireExplicitPolicy: true }).valid,
      true,
    );
    assert.equal(
      check([mapped, map, root], {
        initialPolicies: [P1],
        requireExplicitPolicy: true,
        inhibitPolicyMapping: true,
      }).valid,
      false,
    );

    // inhibitAnyPolicy 0 on the CA: a leaf with only anyPolicy no longer satisfies an explicit policy.
    const inh = pki.issue('pol-inh', root, [
      ...CA,
      'certificatePolicies=2.5.29.32.0',
      'inhibitAnyPolicy=0',
      'policyConstraints=requireExplicitPolicy:0',
    ]);
    const anyLeaf = pki.issue('pol-any', inh, [...LEAF, 'certificatePolicies=2.5.29.32.0']);
    assert.deepEqual(rules(check([anyLeaf, inh, root])), ['policy.explicit-required@0']);
    const inh2 = pki.issue('pol-inh2', root, [
      ...CA,
      'certificatePolicies=2.5.29.32.0',
      'policyConstraints=requireExplicitPolicy:0',
    ]);
    assert.equal(
      check([pki.issue('pol-any2', inh2, [...LEAF, 'certificatePolicies=2.5.29.32.0']), inh2, root]).valid,
      true,
    );
    assert.equal(pki.opensslVerify(anyLeaf, root, [inh], ['-policy_check']), false);
  });

  test('a v1 certificate cannot be an intermediate', () => {
    const v1 = pki.issue('v1', root, [], { noKeyIds: true });
    const l = pki.issue('l-v1', v1, LEAF, { noKeyIds: true });
    // openssl writes a certificate without extensions as version 1 or 3 depending on its version.
    const rule = v1.cert.version === 1 ? 'version.v1-intermediate@1' : 'basic-constraints.not-ca@1';
    assert.ok(rules(check([l, v1, root])).includes(rule));
  });

  test('path building: a cross-signed intermediate reaches the anchor whose path still holds', () => {
    const oldRoot = pki.root('old-root', { days: 1 });
    const newRoot = pki.root('new-root');
    const sub = pki.issue('sub-x', newRoot, CA);
    // The same subject and key, certified by the old root as well: a cross-certificate.
    const cross = pki.issue('sub-x-cross', oldRoot, CA, {
      subj: '/CN=sub-x',
      keyFile: sub.keyFile,
      days: 1,
    });
    const l = pki.issue('l-x', sub, LEAF);
    const late = oldRoot.cert.notAfter + 86_400_000;
    const onlyOld = new CertIndex([cross, l], [oldRoot]);
    const r1 = validateBest(l, onlyOld, { at: late });
    assert.deepEqual(rules(r1), ['validity.expired@1']);
    assert.deepEqual(r1.path, [l.cert.sha256, cross.cert.sha256, oldRoot.cert.sha256]);
    const both = new CertIndex([cross, sub, l], [oldRoot, newRoot]);
    const r2 = validateBest(l, both, { at: late });
    assert.equal(r2.valid, true);
    assert.deepEqual(r2.path, [l.cert.sha256, sub.cert.sha256, newRoot.cert.sha256]);
    assert.ok(r2.candidates >= 1);
  });

  test('path building: no anchor, and a loop, end with path.no-anchor', () => {
    const lone = new CertIndex([inter, leaf], []);
    const r = validateBest(leaf, lone, { at });
    assert.deepEqual(rules(r), ['path.no-anchor@1']);
    assert.deepEqual(r.path, [leaf.cert.sha256, inter.cert.sha256]);
    // A and B certify each other: the builder must terminate.
    const a = pki.root('loop-a');
    const b = pki.issue('loop-b', a, CA);
    const a2 = pki.issue('loop-a2', b, CA, { subj: '/CN=loop-a', keyFile: a.keyFile });
    const l = pki.issue('loop-leaf', a2, LEAF);
    const r2 = validateBest(l, new CertIndex([a2, b, l], []), { at });
    assert.equal(r2.valid, false);
    assert.equal(r2.errors[0]?.rule, 'path.no-anchor');
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify, constants, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { opensslSigner, softHsmToken, toolsMissing, type SoftHsmToken } from '@keywarden/testkit';
import { GovernError } from '../error.ts';
import { hsmFindings } from './findings.ts';
import { GrapheneHsm } from './graphene-hsm.ts';
import { takeInventory, type HsmInventory, type HsmInventoryObject } from './inventory.ts';

const PIN_VAR = 'KW_TEST_HSM_PIN';

/** What openssl says the key identity is: SHA-256 of the SPKI DER of the PEM's public key. */
function opensslKeyId(pem: string, isPublic = false): string {
  const der = execFileSync('openssl', [
    'pkey',
    ...(isPublic ? ['-pubin'] : []),
    '-in',
    pem,
    '-pubout',
    '-outform',
    'DER',
  ]);
  return createHash('sha256').update(der).digest('hex');
}

function spkiKey(o: HsmInventoryObject): KeyObject {
  assert.ok(o.spki, `object ${o.uri} has no SPKI`);
  return createPublicKey({ key: Buffer.from(o.spki, 'base64'), format: 'der', type: 'spki' });
}

function byId(inv: HsmInventory, id: string, cls: string): HsmInventoryObject {
  const o = inv.objects.find((x) => x.id === id && x.class === cls);
  assert.ok(o, `no ${cls} with CKA_ID ${id}`);
  return o;
}

describe('GrapheneHsm on SoftHSM2', { skip: toolsMissing('softhsm2-util', 'pkcs11-tool', 'openssl') }, () => {
  let token: SoftHsmToken;
  const ids: Record<string, string> = {};

  before(async () => {
    token = softHsmToken({ label: 'kw-hsm-test' });
    process.env[PIN_VAR] = token.pin;
    const dir = token.dir;

    // Imported with softhsm2-util: both halves on the token, CKA_LOCAL false.
    const rsa = opensslSigner(dir, 'imp-rsa', 'imported rsa', { newkey: 'rsa:2048' });
    token.importKey(rsa.key, 'b1', 'imported-rsa');
    ids.b1 = opensslKeyId(rsa.key);
    const ec = opensslSigner(dir, 'imp-ec', 'imported ec', {
      newkey: 'ec',
      pkeyopt: 'ec_paramgen_curve:P-256',
    });
    token.importKey(ec.key, 'b2', 'imported-ec');
    ids.b2 = opensslKeyId(ec.key);

    // Written with pkcs11-tool as an extractable private key without its public half, plus the
    // certificate for it under the same CKA_ID: identity must come from the certificate.
    const w = opensslSigner(dir, 'written', 'written ec', {
      newkey: 'ec',
      pkeyopt: 'ec_paramgen_curve:P-384',
      der: true,
    });
    const keyDer = join(dir, 'written.p8.der');
    execFileSync('openssl', ['pkey', '-in', w.key, '-outform', 'DER', '-out', keyDer]);
    token.pkcs11Tool(
      '--write-object',
      keyDer,
      '--type',
      'privkey',
      '--id',
      'c1',
      '--label',
      'written-ec',
      '--extractable',
      '--usage-sign',
    );
    token.pkcs11Tool('--write-object', w.cert, '--type', 'cert', '--id', 'c1', '--label', 'written-ec');
    ids.c1 = opensslKeyId(w.key);
  });

  after(() => {
    delete process.env[PIN_VAR];
    token?.cleanup();
  });

  describe('before any login in this process', () => {
    test('a wrong PIN is HSM_UNAVAILABLE and the message names neither PIN', async () => {
      const wrong = `${token.pin}9`;
      const other = new GrapheneHsm();
      await assert.rejects(
        other.open(token.module, { tokenLabel: token.label, pin: { callback: () => wrong } }),
        (e: unknown) => {
          assert.ok(e instanceof GovernError);
          assert.equal(e.code, 'HSM_UNAVAILABLE');
          assert.match(e.message, /login to token "kw-hsm-test" failed: CKR_PIN_INCORRECT \(wrong PIN\)/);
          assert.ok(!e.message.includes(wrong) && !e.message.includes(token.pin));
          assert.ok(!String(e.stack).includes(wrong));
          return true;
        },
      );
    });

    test('an unset PIN variable and an unknown token are HSM_UNAVAILABLE', async () => {
      const other = new GrapheneHsm();
      await assert.rejects(
        other.open(token.module, { tokenLabel: token.label, pin: { env: 'KW_TEST_NO_SUCH_PIN' } }),
        /PIN variable KW_TEST_NO_SUCH_PIN is not set/,
      );
      await assert.rejects(
        other.open(token.module, { tokenLabel: 'nope' }),
        (e: unknown) =>
          e instanceof GovernError && e.code === 'HSM_UNAVAILABLE' && /no token "nope"/.test(e.message),
      );
      await assert.rejects(
        other.open(join(token.dir, 'missing.so'), {}),
        (e: unknown) =>
          e instanceof GovernError &&
          e.code === 'HSM_UNAVAILABLE' &&
          /cannot load PKCS#11 module/.test(e.message),
      );
    });

    test('a public session sees no private keys', async () => {
      const pub = new GrapheneHsm();
      await pub.open(token.module, { tokenLabel: token.label });
      try {
        const objs = takeInventory(pub, token.module).objects;
        assert.ok(objs.length > 0);
        assert.ok(objs.every((o) => o.class !== 'private-key'));
      } finally {
        pub.close();
      }
    });
  });

  describe('logged in, with keys generated on the token', () => {
    let hsm: GrapheneHsm;
    let inv: HsmInventory;

    before(async () => {
      hsm = new GrapheneHsm();
      await hsm.open(token.module, { tokenLabel: token.label, pin: { env: PIN_VAR }, readWrite: true });
      for (const [id, spec] of [
        ['a1', { kind: 'ec', curve: 'P-256' }],
        ['a2', { kind: 'ec', curve: 'P-384' }],
        ['a3', { kind: 'rsa', bits: 2048 }],
        ['a4', { kind: 'ed25519' }],
      ] as const)
        await hsm.generateKeyPair(spec, { label: `generated-${id}`, id });
      inv = takeInventory(hsm, token.module);
    });

    after(() => hsm?.close());

    test('lists slots and the token with its identity fields', () => {
      assert.equal(inv.token.label, 'kw-hsm-test');
      assert.equal(inv.token.manufacturer, 'SoftHSM project');
      assert.match(inv.token.model, /SoftHSM/);
      assert.match(inv.token.serial, /^[0-9a-f]+$/);
      assert.ok(inv.token.flags.includes('token-initialized'));
      assert.ok(inv.token.flags.includes('login-required'));
      assert.ok(inv.token.firmwareVersion.major >= 2);
      assert.ok(inv.slots.some((s) => s.id === inv.token.slotId && s.tokenPresent));
      assert.ok(inv.tokens.some((t) => t.label === 'kw-hsm-test'));
    });

    test('generated keys are local, sensitive, never extractable, and raise no finding', () => {
      for (const id of ['a1', 'a2', 'a3', 'a4']) {
        const k = byId(inv, id, 'private-key');
        assert.deepEqual(
          [
            k.flags.local,
            k.flags.sensitive,
            k.flags.extractable,
            k.flags.neverExtractable,
            k.flags.alwaysSensitive,
          ],
          [true, true, false, true, true],
          id,
        );
        assert.ok(k.usage.includes('sign'));
        assert.ok(!k.usage.includes('decrypt'));
        assert.ok(k.key?.keyId);
        assert.equal(k.key.keyId, byId(inv, id, 'public-key').key?.keyId);
      }
      assert.deepEqual(
        [byId(inv, 'a1', 'private-key').key?.curve, byId(inv, 'a2', 'private-key').key?.curve],
        ['P-256', 'P-384'],
      );
      assert.equal(byId(inv, 'a3', 'private-key').key?.size, 2048);
      assert.equal(byId(inv, 'a4', 'private-key').key?.algorithm, 'Ed25519');
      const subjects = new Set(hsmFindings(inv).map((f) => f.subject));
      for (const id of ['a1', 'a2', 'a3', 'a4'])
        assert.ok(!subjects.has(byId(inv, id, 'private-key').key!.keyId));
    });

    test('key identity equals what openssl computes for the same public key', () => {
      assert.equal(byId(inv, 'b1', 'private-key').key?.keyId, ids.b1);
      assert.equal(byId(inv, 'b1', 'public-key').key?.keyId, ids.b1);
      assert.equal(byId(inv, 'b1', 'private-key').keySource, 'own-attributes');
      assert.equal(byId(inv, 'b2', 'private-key').key?.keyId, ids.b2);
      assert.equal(byId(inv, 'b2', 'private-key').keySource, 'public-key-object');
      // The public key the token hands back is the one openssl sees in the SPKI we export.
      const pem = join(token.dir, 'a1.pub.pem');
      execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-out', pem], {
        input: Buffer.from(byId(inv, 'a1', 'public-key').spki!, 'base64'),
      });
      assert.equal(opensslKeyId(pem, true), byId(inv, 'a1', 'public-key').key?.keyId);
    });

    test('a private key without a public half is linked to its certificate by CKA_ID', () => {
      const k = byId(inv, 'c1', 'private-key');
      const c = byId(inv, 'c1', 'certificate');
      assert.equal(c.certificate?.subject, 'CN=written ec');
      assert.equal(c.key?.keyId, ids.c1);
      assert.equal(k.key?.keyId, ids.c1);
      assert.equal(k.keySource, 'certificate');
      assert.deepEqual(k.linked, [c.uri]);
      assert.match(k.uri, /^pkcs11:.*token=kw-hsm-test;id=%c1;object=written-ec;type=private$/);
    });

    test('imported and extractable signing keys are findings', () => {
      const f = hsmFindings(inv);
      const rules = (keyId: string | undefined): string[] =>
        f
          .filter((x) => x.subject === keyId)
          .map((x) => x.rule)
          .sort();
      assert.deepEqual(rules(ids.b1), ['KW-HSM-KEY-EVER-EXTRACTABLE', 'KW-HSM-KEY-IMPORTED']);
      assert.deepEqual(rules(ids.c1), ['KW-HSM-KEY-EXTRACTABLE', 'KW-HSM-KEY-IMPORTED']);
      const ex = f.find((x) => x.rule === 'KW-HSM-KEY-EXTRACTABLE');
      assert.equal(ex?.severity, 'high');
      assert.ok(ex?.subjects?.includes(byId(inv, 'c1', 'private-key').uri));
    });

    test('ECDSA signatures (DER and raw) verify against the inventory SPKI', async () => {
      const data = Buffer.from('ecdsa through pkcs#11');
      for (const [id, hash] of [
        ['a1', 'sha256'],
        ['a2', 'sha384'],
      ] as const) {
        const pub = spkiKey(byId(inv, id, 'public-key'));
        const der = await hsm.sign({ id }, { kind: 'ecdsa', hash, format: 'der' }, data);
        assert.equal(verify(hash, data, pub, der), true);
        const raw = await hsm.sign({ id }, { kind: 'ecdsa', hash, format: 'raw' }, data);
        assert.equal(raw.length, id === 'a1' ? 64 : 96);
        assert.equal(verify(hash, data, { key: pub, dsaEncoding: 'ieee-p1363' }, raw), true);
        assert.equal(verify(hash, Buffer.from('other'), pub, der), false);
      }
      // The imported key found through its certificate signs too.
      const sig = await hsm.sign(
        { label: 'written-ec' },
        { kind: 'ecdsa', hash: 'sha384', format: 'der' },
        data,
      );
      assert.equal(verify('sha384', data, spkiKey(byId(inv, 'c1', 'private-key')), sig), true);
    });

    test('RSA PKCS#1 v1.5 and PSS signatures verify', async () => {
      const data = Buffer.alloc(200_000, 7); // over one update chunk
      for (const id of ['a3', 'b1']) {
        const pub = spkiKey(byId(inv, id, 'private-key'));
        const p1 = await hsm.sign({ id }, { kind: 'rsa-pkcs1', hash: 'sha256' }, data);
        assert.equal(verify('sha256', data, pub, p1), true);
        const pss = await hsm.sign({ id }, { kind: 'rsa-pss', hash: 'sha256' }, data);
        const opts = { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
        assert.equal(verify('sha256', data, opts, pss), true);
        assert.equal(verify('sha256', data, { ...opts, saltLength: 20 }, pss), false);
      }
    });

    test('Ed25519 signatures through CKM_EDDSA verify', async () => {
      const data = Buffer.from('ed25519 through pkcs#11');
      const sig = await hsm.sign({ id: 'a4' }, { kind: 'eddsa' }, data);
      assert.equal(sig.length, 64);
      assert.equal(verify(null, data, spkiKey(byId(inv, 'a4', 'public-key')), sig), true);
    });

    test('a mechanism that does not fit the key, or an unknown key, is refused clearly', async () => {
      await assert.rejects(
        hsm.sign({ id: 'a3' }, { kind: 'eddsa' }, Buffer.of(1)),
        (e: unknown) => e instanceof GovernError && e.code === 'BAD_ARGUMENT' && /eddsa/.test(e.message),
      );
      await assert.rejects(
        hsm.sign({ id: 'ff' }, { kind: 'eddsa' }, Buffer.of(1)),
        (e: unknown) => e instanceof GovernError && /no private keys match id=ff/.test(e.message),
      );
    });

    test('the inventory never carries the PIN or a secret value', () => {
      assert.ok(!JSON.stringify(inv).includes(token.pin));
      for (const o of hsm.objects()) assert.ok(!('value' in o) && !('privateExponent' in o));
    });
  });
});

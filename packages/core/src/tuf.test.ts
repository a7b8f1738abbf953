/**
 * TUF metadata written by python-securesystemslib (testkit tufRepository): our canonical JSON and
 * keyids must match its, its signatures must verify over our canonical bytes, and damage must show.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needSecuresystemslib, tufRepository } from '@keywarden/testkit';
import { CoreError } from './error.ts';
import {
  canonicalJson,
  checkTufSignatures,
  isTufMetadata,
  parseTufMetadata,
  tufAuthority,
  tufKeyId,
  type TufMetadata,
} from './tuf.ts';

describe('TUF metadata from securesystemslib', () => {
  let dir = '';
  let ready = false;
  const read = (name: string) => readFileSync(join(dir, name));
  const meta = (name: string): TufMetadata => parseTufMetadata(read(name));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-tuf-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const setup = (t: Parameters<typeof needSecuresystemslib>[0]): boolean => {
    if (!needSecuresystemslib(t)) return false;
    if (!ready) tufRepository(dir);
    ready = true;
    return true;
  };

  test('canonical JSON and keyids match securesystemslib', (t) => {
    if (!setup(t)) return;
    const expect = JSON.parse(read('expect.json').toString('utf8')) as {
      canonical: string;
      object: unknown;
      keyids: Record<string, unknown>;
    };
    assert.equal(canonicalJson(expect.object), expect.canonical);
    const ids = Object.keys(expect.keyids);
    assert.equal(ids.length, 3);
    for (const id of ids) assert.equal(tufKeyId(expect.keyids[id]), id);
  });

  test('root: keys, roles, thresholds, expiry; self-signature valid', (t) => {
    if (!setup(t)) return;
    assert.ok(isTufMetadata(read('root.json')));
    const root = meta('root.json');
    assert.equal(root.type, 'root');
    assert.equal(root.version, 3);
    assert.equal(root.specVersion, '1.0.31');
    assert.equal(root.expires, Date.UTC(2031, 0, 1));
    assert.equal(root.keys.size, 5);
    assert.deepEqual([...root.keys.values()].map((k) => `${k.keytype}/${k.scheme}/${k.algorithm}`).sort(), [
      'ecdsa/ecdsa-sha2-nistp256/EC',
      'ed25519/ed25519/Ed25519',
      'ed25519/ed25519/Ed25519',
      'rsa/rsassa-pss-sha256/RSA',
      'rsa/rsassa-pss-sha256/RSA',
    ]);
    for (const k of root.keys.values()) assert.equal(k.computedKeyId, k.declaredKeyId);
    const targets = root.roles.find((r) => r.name === 'targets');
    assert.equal(targets?.threshold, 2);
    assert.equal(targets?.keyIds.length, 2);
    // The second signature is the previous root's key (rotation): not one this file lists.
    const check = checkTufSignatures(root);
    assert.deepEqual(
      check.signatures.map((s) => s.status),
      ['valid', 'unverified'],
    );
    assert.equal(check.thresholdMet, true);
    const rotation = checkTufSignatures(root, tufAuthority(meta('2.root.json'), 'root'));
    assert.deepEqual(
      rotation.signatures.map((s) => s.status),
      ['valid', 'valid'],
    );
    // v2 lists the new key too, but not for root: only the old key counts.
    assert.match(rotation.signatures[0]?.reason ?? '', /not authorised for role root/);
    assert.equal(rotation.validKeys, 1);
    assert.equal(rotation.thresholdMet, true);
    const rogue = checkTufSignatures(meta('rogue/3.root.json'), tufAuthority(meta('2.root.json'), 'root'));
    assert.equal(rogue.thresholdMet, false);
  });

  test('key identity is SHA-256 of the SPKI DER, also for the PEM key written elsewhere', (t) => {
    if (!setup(t)) return;
    const root = meta('root.json');
    const pem = read('targets-signer.pub.pem').toString('utf8');
    const spki = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    const id = createHash('sha256').update(spki).digest('hex');
    const ec = [...root.keys.values()].find((k) => k.keytype === 'ecdsa');
    assert.equal(ec?.keyId, id);
    assert.equal(ec?.curve, 'P-256');
    const ed = [...root.keys.values()].find((k) => k.keytype === 'ed25519')!;
    // Cross-check the ed25519 SPKI we build against node's own export of that key.
    const nodeSpki = createPublicKey({ key: ed.spki!, format: 'der', type: 'spki' }).export({
      type: 'spki',
      format: 'der',
    });
    assert.equal(createHash('sha256').update(nodeSpki).digest('hex'), ed.keyId);
  });

  test('targets: threshold 2 met through root; unknown without it; delegation and Uptane read', (t) => {
    if (!setup(t)) return;
    const root = meta('root.json');
    const targets = meta('targets.json');
    assert.equal(targets.targetsCount, 1);
    assert.equal(targets.uptane, 'director');
    assert.equal(root.uptane, undefined);
    assert.equal(targets.expires, Date.UTC(2030, 5, 1, 12));
    assert.deepEqual(
      targets.delegations.map((d) => [d.name, d.threshold, d.keyIds.length, d.paths, d.terminating]),
      [['unclaimed', 1, 1, ['unclaimed/*'], true]],
    );
    assert.equal(checkTufSignatures(targets).thresholdMet, 'unknown');
    const check = checkTufSignatures(targets, tufAuthority(root, 'targets'));
    assert.deepEqual(
      check.signatures.map((s) => s.status),
      ['valid', 'valid'],
    );
    assert.equal(check.validKeys, 2);
    assert.equal(check.thresholdMet, true);
    // The delegated role's authority is the delegating targets file.
    const unclaimed = checkTufSignatures(meta('unclaimed.json'), tufAuthority(targets, 'unclaimed'));
    assert.equal(unclaimed.thresholdMet, true);
    for (const role of ['snapshot', 'timestamp'])
      assert.equal(checkTufSignatures(meta(`${role}.json`), tufAuthority(root, role)).thresholdMet, true);
  });

  test('a key signing for a role it is not listed for does not count', (t) => {
    if (!setup(t)) return;
    const root = meta('root.json');
    // snapshot.json is signed by the snapshot key, which root does not list for timestamp.
    const check = checkTufSignatures(meta('snapshot.json'), tufAuthority(root, 'timestamp'));
    assert.equal(check.signatures[0]?.status, 'valid');
    assert.match(check.signatures[0]?.reason ?? '', /not authorised/);
    assert.equal(check.thresholdMet, false);
  });

  test('tampered targets: both signatures invalid, threshold not met', (t) => {
    if (!setup(t)) return;
    const doc = JSON.parse(read('targets.json').toString('utf8')) as {
      signed: { targets: Record<string, { length: number }> };
    };
    doc.signed.targets['firmware.bin']!.length = 2048;
    const tampered = parseTufMetadata(Buffer.from(JSON.stringify(doc)));
    const check = checkTufSignatures(tampered, tufAuthority(meta('root.json'), 'targets'));
    assert.deepEqual(
      check.signatures.map((s) => s.status),
      ['invalid', 'invalid'],
    );
    assert.equal(check.thresholdMet, false);
  });

  test('expired timestamp: expiry recorded, signature still valid (judging is not the reader’s)', (t) => {
    if (!setup(t)) return;
    const ts = meta('timestamp.json');
    assert.equal(ts.expires, Date.UTC(2020, 0, 1));
    assert.equal(checkTufSignatures(ts, tufAuthority(meta('root.json'), 'timestamp')).thresholdMet, true);
  });

  test('truncated JSON is TUF_MALFORMED naming the cause', (t) => {
    if (!setup(t)) return;
    const buf = read('root.json');
    assert.throws(
      () => parseTufMetadata(buf.subarray(0, buf.length / 2)),
      (e: unknown) =>
        e instanceof CoreError && e.code === 'TUF_MALFORMED' && /not valid JSON/.test(e.message),
    );
  });
});

describe('TUF reader bounds and shapes', () => {
  const bad = (doc: unknown, re: RegExp) =>
    assert.throws(
      () => parseTufMetadata(Buffer.from(JSON.stringify(doc))),
      (e: unknown) => e instanceof CoreError && e.code === 'TUF_MALFORMED' && re.test(e.message),
    );

  test('wrong shapes are refused with a reason', () => {
    bad([], /no signed/);
    bad({ signed: { _type: 'root', version: 1 } }, /no signatures/);
    bad({ signed: { _type: 'mirrors', version: 1 }, signatures: [] }, /not a TUF role/);
    bad({ signed: { _type: 'timestamp', version: 1.5 }, signatures: [] }, /version/);
    bad({ signed: { _type: 'timestamp', version: 1, n: 0.5 }, signatures: [] }, /canonicalised/);
    bad(
      {
        signed: { _type: 'root', version: 1, roles: { root: { keyids: [], threshold: 0 } } },
        signatures: [],
      },
      /threshold/,
    );
    bad({ signed: { _type: 'timestamp', version: 1 }, signatures: [{ keyid: 1 }] }, /signature 0/);
  });

  test('too many keys, deep nesting, oversize input', () => {
    const keys = Object.fromEntries(
      Array.from({ length: 1025 }, (_, i) => [String(i), { keytype: 'x', keyval: {} }]),
    );
    bad({ signed: { _type: 'root', version: 1, keys, roles: {} }, signatures: [] }, /1025 keys/);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    bad({ signed: { _type: 'timestamp', version: 1, deep }, signatures: [] }, /nested too deeply/);
    assert.throws(() => parseTufMetadata(new Uint8Array(4 * 1024 * 1024 + 1)), /exceeds the limit/);
  });

  test('unknown keytype and scheme are recorded, their signatures unverified', () => {
    const key = { keytype: 'sphincs', scheme: 'sphincs-shake-128s', keyval: { public: 'ab' } };
    const id = tufKeyId(key);
    const root = parseTufMetadata(
      Buffer.from(
        JSON.stringify({
          signed: {
            _type: 'root',
            version: 1,
            keys: { [id]: key },
            roles: { root: { keyids: [id], threshold: 1 } },
          },
          signatures: [{ keyid: id, sig: 'abcd' }],
        }),
      ),
    );
    assert.equal(root.keys.get(id)?.keytype, 'sphincs');
    assert.equal(root.keys.get(id)?.keyId, undefined);
    const check = checkTufSignatures(root);
    assert.equal(check.signatures[0]?.status, 'unverified');
    assert.equal(check.thresholdMet, false);
  });

  test('one key filed under two keyids counts once towards the threshold', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
    const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw } };
    const signed = {
      _type: 'root',
      version: 1,
      keys: { a: key, b: key },
      roles: { root: { keyids: ['a', 'b'], threshold: 2 } },
    };
    const sig = sign(null, Buffer.from(canonicalJson(signed)), privateKey).toString('hex');
    const doc = {
      signed,
      signatures: [
        { keyid: 'a', sig },
        { keyid: 'b', sig },
      ],
    };
    const check = checkTufSignatures(parseTufMetadata(Buffer.from(JSON.stringify(doc))));
    assert.deepEqual(
      check.signatures.map((s) => s.status),
      ['valid', 'valid'],
    );
    assert.equal(check.validKeys, 1);
    assert.equal(check.thresholdMet, false);
  });

  test('isTufMetadata rejects other JSON', () => {
    assert.equal(isTufMetadata(Buffer.from('{"keys":[]}')), false);
    assert.equal(isTufMetadata(Buffer.from('{"signed":{"_type":"root"},"signatures":[]}')), true);
  });
});

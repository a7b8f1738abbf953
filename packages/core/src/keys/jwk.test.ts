import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { CoreError } from '../error.ts';
import type { KeyInfo, Observation } from '../observation.ts';
import { assertNoSecrets, secretForms, spkiKeyId } from './fixtures.ts';
import { findJwks } from './jwk.ts';

interface Pair {
  readonly name: string;
  readonly priv: KeyObject;
  readonly pub: KeyObject;
  readonly expect: Omit<KeyInfo, 'keyId'>;
}

function pair(
  name: string,
  make: () => { privateKey: KeyObject; publicKey: KeyObject },
  expect: Omit<KeyInfo, 'keyId'>,
): Pair {
  const { privateKey, publicKey } = make();
  return { name, priv: privateKey, pub: publicKey, expect };
}

const PAIRS: readonly Pair[] = [
  pair('RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 }), { algorithm: 'RSA', size: 2048 }),
  pair('P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }), {
    algorithm: 'EC',
    size: 256,
    curve: 'P-256',
  }),
  pair('P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }), {
    algorithm: 'EC',
    size: 384,
    curve: 'P-384',
  }),
  pair('P-521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' }), {
    algorithm: 'EC',
    size: 521,
    curve: 'P-521',
  }),
  pair('secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), {
    algorithm: 'EC',
    size: 256,
    curve: 'secp256k1',
  }),
  pair('Ed25519', () => generateKeyPairSync('ed25519'), { algorithm: 'Ed25519', size: 255 }),
  pair('Ed448', () => generateKeyPairSync('ed448'), { algorithm: 'Ed448', size: 456 }),
  pair('X25519', () => generateKeyPairSync('x25519'), { algorithm: 'X25519', size: 255 }),
  pair('X448', () => generateKeyPairSync('x448'), { algorithm: 'X448', size: 448 }),
];

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v, null, 2));

function keyOf(o: Observation | undefined): KeyInfo {
  assert.ok(o && (o.type === 'public-key' || o.type === 'private-key'), `expected a key, got ${o?.type}`);
  return o.key;
}

describe('JWK', () => {
  for (const p of PAIRS) {
    test(`${p.name}: public and private JWK share the SPKI identity; 'd' never appears`, () => {
      const keyId = spkiKeyId(p.pub);
      const secrets = secretForms(p.priv);
      const pubJwk = p.pub.export({ format: 'jwk' });
      const privJwk = p.priv.export({ format: 'jwk' });

      const [pub] = findJwks(json(pubJwk), 40);
      assert.equal(pub?.type, 'public-key');
      assert.equal(pub.format, 'jwk');
      assert.equal(pub.encoding, 'json');
      assert.deepEqual(keyOf(pub), { keyId, ...p.expect });

      const found = findJwks(json({ ...privJwk, kid: 'k1', use: 'sig' }));
      assert.equal(found.length, 1);
      const priv = found[0];
      assert.equal(priv?.type, 'private-key');
      assert.deepEqual(priv, {
        type: 'private-key',
        offset: priv.offset,
        encoding: 'json',
        format: 'jwk',
        key: { keyId, ...p.expect },
        encrypted: false,
      });
      assertNoSecrets(found, secrets);
    });
  }

  test('a JWKS: keys in order, byte offsets at each key, broken entries unparseable', () => {
    const [rsa, ec, ed] = [PAIRS[0]!, PAIRS[1]!, PAIRS[5]!];
    const doc = {
      issuer: 'https://issuer.example — ünïcode first, so byte and character offsets differ',
      keys: [
        rsa.pub.export({ format: 'jwk' }),
        { kty: 'RSA', n: 12345, e: 'AQAB' },
        { kty: 'oct', k: 'c2VjcmV0' },
        { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' },
        { kty: 'OKP', crv: 'Ed25519', x: 'not base64url!' },
        ec.priv.export({ format: 'jwk' }),
        ed.pub.export({ format: 'jwk' }),
      ],
    };
    const buf = json(doc);
    const found = findJwks(buf, 100);
    assert.deepEqual(
      found.map((o) => o.type),
      ['public-key', 'unparseable', 'unparseable', 'unparseable', 'unparseable', 'private-key', 'public-key'],
    );
    assert.equal(keyOf(found[0]).keyId, spkiKeyId(rsa.pub));
    assert.equal(keyOf(found[5]).keyId, spkiKeyId(ec.pub));
    assert.equal(keyOf(found[6]).keyId, spkiKeyId(ed.pub));
    const n = rsa.pub.export({ format: 'jwk' }).n!;
    assert.equal(found[0]!.offset, 100 + buf.indexOf(n));
    assert.equal(found[6]!.offset, 100 + buf.indexOf(ed.pub.export({ format: 'jwk' }).x!));
    for (const o of found.filter((x) => x.type === 'unparseable')) {
      assert.equal(o.format, 'jwk');
      assert.equal(o.encoding, 'json');
    }
    const reasons = found.map((o) => (o.type === 'unparseable' ? o.reason : ''));
    assert.match(reasons[1]!, /"n"/);
    assert.match(reasons[2]!, /oct/);
    assert.match(reasons[3]!, /node:crypto/);
    assert.match(reasons[4]!, /base64url/);
    assertNoSecrets(found, secretForms(ec.priv));
  });

  test('keys nested in configuration and arrays are found; JSON without keys gives nothing', () => {
    const ed = PAIRS[5]!;
    const nested = {
      auth: { providers: [{ name: 'a', jwks: { keys: [ed.pub.export({ format: 'jwk' })] } }] },
    };
    assert.equal(keyOf(findJwks(json(nested))[0]).keyId, spkiKeyId(ed.pub));
    assert.equal(findJwks(json([ed.pub.export({ format: 'jwk' })])).length, 1);
    assert.deepEqual(findJwks(json({ kty: 1, keys: 'none' })), []);
    assert.deepEqual(findJwks(Buffer.from('[1, 2, "kty"]')), []);
    // A UTF-8 byte order mark is tolerated.
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(ed.pub.export({ format: 'jwk' }))]);
    const [withBom] = findJwks(bom, 10);
    assert.equal(withBom?.offset, 10 + bom.indexOf(ed.pub.export({ format: 'jwk' }).x!));
  });

  test('invalid JSON throws CoreError JWK_MALFORMED', () => {
    for (const bad of ['{"kty": "RSA"', '', 'not json', '{"keys": [}']) {
      assert.throws(
        () => findJwks(Buffer.from(bad)),
        (e: unknown) => e instanceof CoreError && e.code === 'JWK_MALFORMED',
      );
    }
  });

  test('deep nesting is bounded, not a stack overflow', () => {
    const deep = Buffer.from('['.repeat(100_000) + ']'.repeat(100_000));
    let result: Observation[] | undefined;
    try {
      result = findJwks(deep);
    } catch (e) {
      assert.ok(e instanceof CoreError);
    }
    if (result) assert.deepEqual(result, []);
  });
});

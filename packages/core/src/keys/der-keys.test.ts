import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { KeyInfo, Observation } from '../observation.ts';
import { classifyKeyDer, keyFromPem } from './der-keys.ts';
import { assertNoSecrets, onlyPem, secretForms, sha256Hex, spkiKeyId, Workdir } from './fixtures.ts';

const w = new Workdir();
after(() => w.dispose());

interface Expect {
  readonly algorithm: string;
  readonly size?: number;
  readonly curve?: string;
}

interface Made {
  readonly name: string;
  readonly priv: KeyObject;
  /** SHA-256 of `openssl pkey -pubout -outform DER`: computed without our code or node's export. */
  readonly keyId: string;
  readonly expect: Expect;
  readonly secrets: string[];
}

const GENPKEY: readonly [string, readonly string[], Expect][] = [
  ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], { algorithm: 'RSA', size: 2048 }],
  [
    'rsa-pss',
    ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'],
    { algorithm: 'RSA-PSS', size: 2048 },
  ],
  [
    'rsa-pss-sha256',
    ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_pss_keygen_md:sha256'],
    { algorithm: 'RSA-PSS', size: 2048 },
  ],
  [
    'p256',
    ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    { algorithm: 'EC', size: 256, curve: 'P-256' },
  ],
  [
    'p384',
    ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    { algorithm: 'EC', size: 384, curve: 'P-384' },
  ],
  [
    'p521',
    ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
    { algorithm: 'EC', size: 521, curve: 'P-521' },
  ],
  ['ed25519', ['-algorithm', 'ED25519'], { algorithm: 'Ed25519', size: 255 }],
  ['ed448', ['-algorithm', 'ED448'], { algorithm: 'Ed448', size: 456 }],
  ['x25519', ['-algorithm', 'X25519'], { algorithm: 'X25519', size: 255 }],
  ['x448', ['-algorithm', 'X448'], { algorithm: 'X448', size: 448 }],
  ['dsa', ['-paramfile', 'dsa-params.pem'], { algorithm: 'DSA', size: 2048 }],
];

const made = new Map<string, Made>();

before(() => {
  w.run('openssl', [
    'genpkey',
    '-genparam',
    '-algorithm',
    'DSA',
    '-pkeyopt',
    'dsa_paramgen_bits:2048',
    '-out',
    'dsa-params.pem',
  ]);
  for (const [name, args, expect] of GENPKEY) {
    w.run('openssl', ['genpkey', ...args, '-out', `${name}.pem`]);
    const priv = createPrivateKey(w.read(`${name}.pem`));
    const keyId = sha256Hex(w.run('openssl', ['pkey', '-in', `${name}.pem`, '-pubout', '-outform', 'DER']));
    made.set(name, { name, priv, keyId, expect, secrets: secretForms(priv) });
  }
});

function get(name: string): Made {
  const m = made.get(name);
  assert.ok(m, `fixture ${name}`);
  return m;
}

/** Every observation these tests see goes through here, so every one is checked for leaks. */
function keyObservation(
  o: Observation | undefined,
  m: Made,
  want: Partial<Record<string, unknown>>,
): KeyInfo {
  assert.ok(o, 'expected an observation');
  assertNoSecrets(o, m.secrets);
  assert.ok(o.type === 'private-key' || o.type === 'public-key', `expected a key, got ${o.type}`);
  for (const [k, v] of Object.entries(want)) assert.deepEqual((o as Record<string, unknown>)[k], v, k);
  return o.key;
}

function assertKey(key: KeyInfo, m: Made): void {
  assert.deepEqual(key, { keyId: m.keyId, ...m.expect });
}

describe('PKCS#8 and SPKI', () => {
  test('openssl and node agree on the reference key identity', () => {
    for (const m of made.values()) assert.equal(spkiKeyId(m.priv), m.keyId, m.name);
  });

  for (const [name] of GENPKEY) {
    test(`${name}: PKCS#8 private key, PEM and DER; SPKI public key, PEM and DER`, () => {
      const m = get(name);
      const pem = onlyPem(w.read(`${name}.pem`));
      assert.equal(pem.label, 'PRIVATE KEY');
      const fromPem = keyFromPem(pem.label, pem.der, pem.headers, 7);
      assertKey(
        keyObservation(fromPem, m, {
          type: 'private-key',
          format: 'pkcs8',
          encrypted: false,
          offset: 7,
          encoding: 'pem',
        }),
        m,
      );

      const der = w.run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.pem`, '-outform', 'DER']);
      assertKey(
        keyObservation(classifyKeyDer(der, 0, 'der'), m, {
          type: 'private-key',
          format: 'pkcs8',
          encoding: 'der',
        }),
        m,
      );

      const pubPem = onlyPem(w.run('openssl', ['pkey', '-in', `${name}.pem`, '-pubout']));
      assert.equal(pubPem.label, 'PUBLIC KEY');
      assertKey(
        keyObservation(keyFromPem(pubPem.label, pubPem.der, {}, 0), m, {
          type: 'public-key',
          format: 'spki',
        }),
        m,
      );
      const pubDer = w.run('openssl', ['pkey', '-in', `${name}.pem`, '-pubout', '-outform', 'DER']);
      assertKey(
        keyObservation(classifyKeyDer(pubDer, 3, 'binary'), m, {
          type: 'public-key',
          offset: 3,
          encoding: 'binary',
        }),
        m,
      );
    });
  }
});

describe('encrypted PKCS#8', () => {
  const cases: readonly [string, readonly string[], string][] = [
    ['aes-256-cbc', ['-v2', 'aes-256-cbc'], 'PBES2/aes-256-cbc'],
    [
      'aes-128-cbc with hmacWithSHA512',
      ['-v2', 'aes-128-cbc', '-v2prf', 'hmacWithSHA512'],
      'PBES2/aes-128-cbc',
    ],
    ['des3', ['-v2', 'des3'], 'PBES2/des-ede3-cbc'],
    ['scrypt', ['-scrypt'], 'PBES2/scrypt/aes-256-cbc'],
    ['PKCS#12 3DES', ['-v1', 'PBE-SHA1-3DES'], 'pbeWithSHAAnd3-KeyTripleDES-CBC'],
  ];
  for (const [what, args, cipher] of cases) {
    test(`${what} is reported as encrypted with its scheme and no key identity`, () => {
      for (const name of ['rsa', 'p256', 'ed25519']) {
        const m = get(name);
        const base = ['pkcs8', '-topk8', '-in', `${name}.pem`, ...args, '-passout', 'pass:correct horse'];
        const pem = onlyPem(w.run('openssl', base));
        assert.equal(pem.label, 'ENCRYPTED PRIVATE KEY');
        const o = keyFromPem(pem.label, pem.der, pem.headers, 0);
        const key = keyObservation(o, m, {
          type: 'private-key',
          format: 'encrypted-pkcs8',
          encrypted: true,
          cipher,
        });
        assert.deepEqual(key, { algorithm: 'unknown' });
        const der = w.run('openssl', [...base, '-outform', 'DER']);
        const d = keyObservation(classifyKeyDer(der, 0, 'der'), m, { format: 'encrypted-pkcs8', cipher });
        assert.deepEqual(d, { algorithm: 'unknown' });
      }
    });
  }
});

describe('traditional OpenSSL formats', () => {
  test('PKCS#1 RSAPrivateKey and RSAPublicKey, PEM and DER', () => {
    const m = get('rsa');
    const priv = onlyPem(w.run('openssl', ['rsa', '-in', 'rsa.pem', '-traditional']));
    assert.equal(priv.label, 'RSA PRIVATE KEY');
    assertKey(
      keyObservation(keyFromPem(priv.label, priv.der, priv.headers, 0), m, {
        type: 'private-key',
        format: 'pkcs1',
        encrypted: false,
      }),
      m,
    );
    const privDer = w.run('openssl', ['rsa', '-in', 'rsa.pem', '-traditional', '-outform', 'DER']);
    assertKey(keyObservation(classifyKeyDer(privDer, 0, 'der'), m, { format: 'pkcs1' }), m);

    const pub = onlyPem(w.run('openssl', ['rsa', '-in', 'rsa.pem', '-RSAPublicKey_out']));
    assert.equal(pub.label, 'RSA PUBLIC KEY');
    assertKey(
      keyObservation(keyFromPem(pub.label, pub.der, pub.headers, 0), m, {
        type: 'public-key',
        format: 'pkcs1',
      }),
      m,
    );
    const pubDer = w.run('openssl', ['rsa', '-in', 'rsa.pem', '-RSAPublicKey_out', '-outform', 'DER']);
    assertKey(
      keyObservation(classifyKeyDer(pubDer, 0, 'der'), m, { type: 'public-key', format: 'pkcs1' }),
      m,
    );
  });

  test('SEC1 ECPrivateKey, with and without the public key, PEM and DER', () => {
    for (const name of ['p256', 'p384', 'p521']) {
      const m = get(name);
      for (const extra of [[], ['-no_public']]) {
        const pem = onlyPem(w.run('openssl', ['ec', '-in', `${name}.pem`, ...extra]));
        assert.equal(pem.label, 'EC PRIVATE KEY');
        assertKey(
          keyObservation(keyFromPem(pem.label, pem.der, pem.headers, 0), m, {
            type: 'private-key',
            format: 'sec1',
            encrypted: false,
          }),
          m,
        );
        const der = w.run('openssl', ['ec', '-in', `${name}.pem`, ...extra, '-outform', 'DER']);
        assertKey(keyObservation(classifyKeyDer(der, 0, 'der'), m, { format: 'sec1' }), m);
      }
    }
  });

  test('SEC1 with explicit curve parameters keeps the identity of the same encoding in SPKI', () => {
    const m = get('p256');
    const der = w.run('openssl', ['ec', '-in', 'p256.pem', '-param_enc', 'explicit', '-outform', 'DER']);
    const spki = w.run('openssl', [
      'ec',
      '-in',
      'p256.pem',
      '-param_enc',
      'explicit',
      '-pubout',
      '-outform',
      'DER',
    ]);
    const key = keyObservation(classifyKeyDer(der, 0, 'der'), m, { format: 'sec1' });
    assert.deepEqual(key, { keyId: sha256Hex(spki), algorithm: 'EC', size: 256, curve: 'explicit' });
  });

  test('OpenSSL DSAPrivateKey, PEM and DER', () => {
    const m = get('dsa');
    const pem = onlyPem(w.run('openssl', ['dsa', '-in', 'dsa.pem']));
    assert.equal(pem.label, 'DSA PRIVATE KEY');
    assertKey(
      keyObservation(keyFromPem(pem.label, pem.der, pem.headers, 0), m, {
        type: 'private-key',
        format: 'openssl-dsa',
      }),
      m,
    );
    const der = w.run('openssl', ['dsa', '-in', 'dsa.pem', '-outform', 'DER']);
    assertKey(keyObservation(classifyKeyDer(der, 0, 'der'), m, { format: 'openssl-dsa' }), m);
  });

  test('legacy encrypted PEM: encrypted, cipher from DEK-Info, algorithm from the label, no identity', () => {
    const cases: readonly [string, readonly string[], string, string, string][] = [
      ['rsa', ['rsa', '-traditional', '-aes256'], 'RSA PRIVATE KEY', 'RSA', 'AES-256-CBC'],
      ['rsa', ['rsa', '-traditional', '-des3'], 'RSA PRIVATE KEY', 'RSA', 'DES-EDE3-CBC'],
      ['p384', ['ec', '-aes128'], 'EC PRIVATE KEY', 'EC', 'AES-128-CBC'],
      ['dsa', ['dsa', '-aes256'], 'DSA PRIVATE KEY', 'DSA', 'AES-256-CBC'],
    ];
    for (const [name, args, label, algorithm, cipher] of cases) {
      const m = get(name);
      const [cmd, ...rest] = args;
      const pem = onlyPem(w.run('openssl', [cmd!, '-in', `${name}.pem`, ...rest, '-passout', 'pass:secret']));
      assert.equal(pem.label, label);
      assert.match(pem.headers['Proc-Type'] ?? '', /ENCRYPTED/);
      const key = keyObservation(keyFromPem(pem.label, pem.der, pem.headers, 5), m, {
        type: 'private-key',
        encrypted: true,
        cipher,
        offset: 5,
      });
      assert.deepEqual(key, { algorithm });
    }
  });
});

/** Hand-assembled DER for the synthetic cases; lengths under 128 unless given. */
const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const len =
    body.length < 0x80
      ? Buffer.of(body.length)
      : body.length < 0x100
        ? Buffer.of(0x81, body.length)
        : Buffer.of(0x82, body.length >> 8, body.length & 0xff);
  return Buffer.concat([Buffer.of(tag), len, body]);
};

describe('OneAsymmetricKey v2 and post-quantum algorithms', () => {
  test('a v2 Ed25519 key is identified from its embedded public key', () => {
    const m = get('ed25519');
    const v1 = m.priv.export({ type: 'pkcs8', format: 'der' });
    const raw = Buffer.from(createPublicKey(m.priv).export({ format: 'jwk' }).x!, 'base64url');
    // SEQUENCE { INTEGER 1, AlgorithmIdentifier, OCTET STRING, [1] publicKey }
    const inner = v1.subarray(2); // version 0, algorithm, privateKey
    const body = Buffer.concat([
      Buffer.of(0x02, 0x01, 0x01),
      inner.subarray(3),
      der(0x81, Buffer.of(0), raw),
    ]);
    const v2 = der(0x30, body);
    assertKey(keyObservation(classifyKeyDer(v2, 0, 'der'), m, { format: 'pkcs8', encrypted: false }), m);
  });

  const mlDsa65 = der(0x06, Buffer.from('608648016503040312', 'hex'));
  const algId = der(0x30, mlDsa65);
  const seed = der(0x80, randomBytes(32));
  const publicKey = randomBytes(1952);

  test('ML-DSA-65 without a public key: algorithm only', () => {
    const v1 = der(0x30, Buffer.of(0x02, 0x01, 0x00), algId, der(0x04, seed));
    const o = classifyKeyDer(v1, 0, 'der');
    assert.equal(o?.type, 'private-key');
    assert.deepEqual(o.key, { algorithm: 'ML-DSA-65' });
    assert.equal(o.format, 'pkcs8');
    assertNoSecrets(o, [seed.subarray(2).toString('hex'), seed.subarray(2).toString('base64')]);
  });

  test('ML-DSA-65 v2: keyId is SHA-256 of the SPKI built from the embedded public key', () => {
    const v2 = der(
      0x30,
      Buffer.of(0x02, 0x01, 0x01),
      algId,
      der(0x04, seed),
      der(0x81, Buffer.of(0), publicKey),
    );
    // SPKI written out by hand: SEQUENCE(1970) { SEQUENCE { OID }, BIT STRING(1953) { 00 || pk } }
    const spki = Buffer.concat([
      Buffer.from('308207b2', 'hex'),
      algId,
      Buffer.from('038207a100', 'hex'),
      publicKey,
    ]);
    const o = classifyKeyDer(v2, 0, 'der');
    assert.equal(o?.type, 'private-key');
    assert.deepEqual(o.key, { keyId: sha256Hex(spki), algorithm: 'ML-DSA-65' });
    assertNoSecrets(o, [seed.subarray(2).toString('hex'), seed.subarray(2).toString('base64')]);
  });
});

describe('sniffing by structure', () => {
  test('labels do not decide the structure: PKCS#8 under an RSA PRIVATE KEY label is PKCS#8', () => {
    const m = get('rsa');
    const pem = onlyPem(w.read('rsa.pem'));
    assertKey(keyObservation(keyFromPem('RSA PRIVATE KEY', pem.der, {}, 0), m, { format: 'pkcs8' }), m);
  });

  test('non-key DER is not a key', () => {
    const cert = w.run('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      'p256.pem',
      '-subj',
      '/CN=t',
      '-days',
      '1',
      '-outform',
      'DER',
    ]);
    assert.equal(classifyKeyDer(cert, 0, 'der'), undefined);
    const sig = w.run('openssl', ['dgst', '-sha256', '-sign', 'p521.pem', w.path('rsa.pem')]);
    assert.equal(
      classifyKeyDer(sig, 0, 'der'),
      undefined,
      'an ECDSA signature is two INTEGERs, not RSAPublicKey',
    );
    const digestInfo = der(
      0x30,
      der(0x30, der(0x06, Buffer.from('608648016503040201', 'hex')), Buffer.of(5, 0)),
      der(0x04, randomBytes(32)),
    );
    assert.equal(
      classifyKeyDer(digestInfo, 0, 'der'),
      undefined,
      'DigestInfo is not EncryptedPrivateKeyInfo',
    );
    assert.equal(classifyKeyDer(Buffer.from('hello world'), 0, 'der'), undefined);
    assert.equal(classifyKeyDer(Buffer.alloc(0), 0, 'der'), undefined);
  });

  test('a key-shaped structure that does not decode is unparseable, not a key', () => {
    // ECPrivateKey on a curve nobody defines (OID 1.2.3.4) and without a public key to fall back on.
    const scalar = randomBytes(32);
    const sec1 = der(
      0x30,
      Buffer.of(0x02, 0x01, 0x01),
      der(0x04, scalar),
      der(0xa0, der(0x06, Buffer.of(0x2a, 0x03, 0x04))),
    );
    const o = classifyKeyDer(sec1, 0, 'der');
    assert.equal(o?.type, 'unparseable');
    assert.equal(o.format, 'der:sec1');
    assertNoSecrets(o, [scalar.toString('hex'), scalar.toString('base64')]);
    // The same structure with its public point is identified by that point.
    const m = get('p256');
    const jwk = createPublicKey(m.priv).export({ format: 'jwk' });
    const point = Buffer.concat([
      Buffer.of(4),
      Buffer.from(jwk.x!, 'base64url'),
      Buffer.from(jwk.y!, 'base64url'),
    ]);
    const p256 = der(0x06, Buffer.from('2a8648ce3d030107', 'hex'));
    const withPublic = der(
      0x30,
      Buffer.of(0x02, 0x01, 0x01),
      der(0x04, scalar),
      der(0xa0, p256),
      der(0xa1, der(0x03, Buffer.of(0), point)),
    );
    const k = classifyKeyDer(withPublic, 0, 'der');
    assert.equal(k?.type, 'private-key');
    assert.deepEqual(
      k.key,
      { keyId: m.keyId, algorithm: 'EC', size: 256, curve: 'P-256' },
      'OpenSSL takes the public point from the file when the file has one',
    );
  });

  test('keyFromPem: other labels are not keys; bad bodies under key labels are unparseable', () => {
    assert.equal(keyFromPem('CERTIFICATE', Buffer.of(0x30, 0), {}, 0), undefined);
    const empty = keyFromPem('PRIVATE KEY', Buffer.alloc(0), {}, 9);
    assert.deepEqual(empty, {
      type: 'unparseable',
      offset: 9,
      encoding: 'pem',
      format: 'pem:PRIVATE KEY',
      reason: 'empty PEM body',
    });
    const junk = keyFromPem('PUBLIC KEY', Buffer.from('not der'), {}, 0);
    assert.equal(junk?.type, 'unparseable');
    const ssh = keyFromPem('OPENSSH PRIVATE KEY', Buffer.from('not openssh'), {}, 0);
    assert.equal(ssh?.type, 'unparseable');
  });
});

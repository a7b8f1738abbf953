import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CoreError } from '../error.ts';
import { classifyKeyDer, KEY_PEM_LABELS, keyFromPem } from './der-keys.ts';
import { assertNoSecrets, onlyPem, secretForms, Workdir } from './fixtures.ts';
import { findJwks } from './jwk.ts';
import { findSshPublicKeys, parseOpenSshPrivateKey } from './openssh.ts';
import { parseSshCertificate, SSH_CERT_TYPES } from './ssh-cert.ts';
import { parseSshPublicKey, SSH_KEY_TYPES } from './ssh-public.ts';

/**
 * Every parser, fed random bytes and damaged real keys, either answers or throws CoreError: no
 * TypeError, RangeError or OpenSSL error escapes, and nothing hangs (each property has a time limit).
 */

/** KEYWARDEN_FUZZ_RUNS raises the count for a longer local soak. */
const RUNS = { numRuns: Number(process.env['KEYWARDEN_FUZZ_RUNS'] ?? 300) };
const LIMIT = { timeout: 120_000 };

const w = new Workdir();
after(() => w.dispose());

const derSeeds: Buffer[] = [];
const opensshSeeds: Buffer[] = [];
const sshBlobSeeds: Buffer[] = [];
const certSeeds: Buffer[] = [];
const jwkSeeds: Buffer[] = [];
const secrets: string[] = [];

function remember(priv: KeyObject): void {
  secrets.push(...secretForms(priv));
}

function blobOf(file: string): Buffer {
  return Buffer.from(w.read(file).toString().trim().split(/\s+/)[1]!, 'base64');
}

before(() => {
  w.run('openssl', [
    'genpkey',
    '-genparam',
    '-algorithm',
    'DSA',
    '-pkeyopt',
    'dsa_paramgen_bits:1024',
    '-out',
    'dsap.pem',
  ]);
  const gen: readonly [string, readonly string[]][] = [
    ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']],
    ['pss', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:1024']],
    ['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['ed', ['-algorithm', 'ED25519']],
    ['x448', ['-algorithm', 'X448']],
    ['dsa', ['-paramfile', 'dsap.pem']],
  ];
  for (const [name, args] of gen) {
    w.run('openssl', ['genpkey', ...args, '-out', `${name}.pem`]);
    remember(createPrivateKey(w.read(`${name}.pem`)));
    derSeeds.push(
      w.run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.pem`, '-outform', 'DER']),
      w.run('openssl', ['pkey', '-in', `${name}.pem`, '-pubout', '-outform', 'DER']),
      w.run('openssl', [
        'pkcs8',
        '-topk8',
        '-in',
        `${name}.pem`,
        '-v2',
        'aes-256-cbc',
        '-passout',
        'pass:x',
        '-outform',
        'DER',
      ]),
    );
  }
  derSeeds.push(
    w.run('openssl', ['rsa', '-in', 'rsa.pem', '-traditional', '-outform', 'DER']),
    w.run('openssl', ['rsa', '-in', 'rsa.pem', '-RSAPublicKey_out', '-outform', 'DER']),
    w.run('openssl', ['ec', '-in', 'ec.pem', '-outform', 'DER']),
    w.run('openssl', ['dsa', '-in', 'dsa.pem', '-outform', 'DER']),
  );

  for (const [name, args] of [
    ['ssh-ed', ['-t', 'ed25519']],
    ['ssh-ec', ['-t', 'ecdsa']],
    ['ssh-rsa', ['-t', 'rsa', '-b', '1024']],
  ] as const) {
    w.run('ssh-keygen', ['-q', ...args, '-N', '', '-C', 'fuzz', '-f', name]);
    w.run('ssh-keygen', ['-q', ...args, '-N', 'pw', '-f', `${name}-enc`]);
    opensshSeeds.push(onlyPem(w.read(name)).der, onlyPem(w.read(`${name}-enc`)).der);
    sshBlobSeeds.push(blobOf(`${name}.pub`));
  }
  w.run('ssh-keygen', [
    '-q',
    '-s',
    'ssh-ed',
    '-I',
    'id',
    '-n',
    'a,b',
    '-V',
    '+1w',
    '-O',
    'force-command=x',
    'ssh-ec.pub',
  ]);
  w.run('ssh-keygen', ['-q', '-s', 'ssh-rsa', '-h', '-I', 'h', '-n', 'h', 'ssh-ed.pub']);
  certSeeds.push(blobOf('ssh-ec-cert.pub'), blobOf('ssh-ed-cert.pub'));
  w.run('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    'conv.pem',
  ]);
  remember(createPrivateKey(w.read('conv.pem')));
  w.run('ssh-keygen', ['-p', '-P', '', '-N', '', '-f', 'conv.pem']);
  opensshSeeds.push(onlyPem(w.read('conv.pem')).der);

  const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const { privateKey: ed, publicKey: edPub } = generateKeyPairSync('ed448');
  for (const k of [rsa, ec, ed]) remember(k);
  const keys = [rsa, ec, ed].map((k) => k.export({ format: 'jwk' }));
  jwkSeeds.push(Buffer.from(JSON.stringify({ keys: [...keys, edPub.export({ format: 'jwk' })] })));
});

/** Result or CoreError; anything else fails the property. Results must not leak the seed keys. */
function total(f: () => unknown): void {
  try {
    assertNoSecrets(f(), secrets);
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
  }
}

/**
 * A real input with up to six bit flips, optionally cut short or with bytes spliced in. Failures print
 * the recipe (seed number, flips, cut, splice), never the bytes: the seeds are private keys.
 */
function damaged(seeds: () => readonly Buffer[]): fc.Arbitrary<Buffer> {
  return fc
    .record({
      seed: fc.noBias(fc.nat()),
      flips: fc.array(fc.tuple(fc.noBias(fc.nat()), fc.nat({ max: 7 })), { maxLength: 6 }),
      cut: fc.option(fc.noBias(fc.nat()), { nil: undefined }),
      splice: fc.option(fc.tuple(fc.noBias(fc.nat()), fc.uint8Array({ minLength: 1, maxLength: 8 })), {
        nil: undefined,
      }),
    })
    .map((recipe) => {
      const { seed, flips, cut, splice } = recipe;
      const all = seeds();
      let b = Buffer.from(all[seed % all.length]!);
      for (const [pos, bit] of flips) if (b.length > 0) b[pos % b.length]! ^= 1 << bit;
      if (splice) {
        const at = splice[0] % (b.length + 1);
        b = Buffer.concat([b.subarray(0, at), splice[1], b.subarray(at)]);
      }
      const out = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
      const describe = `damaged(${JSON.stringify({ seed: seed % all.length, flips, cut, splice: splice && [splice[0], Buffer.from(splice[1]).toString('hex')] })})`;
      return Object.assign(out, { [fc.toStringMethod]: () => describe });
    });
}

const HEADERS: readonly Record<string, string>[] = [
  {},
  { 'Proc-Type': '4,ENCRYPTED', 'DEK-Info': 'AES-256-CBC,00' },
  { 'Proc-Type': '4,ENCRYPTED' },
];

const random = fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u));

describe('property: parsers are total over hostile input', () => {
  test('classifyKeyDer', LIMIT, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          random,
          damaged(() => derSeeds),
        ),
        (b) => total(() => classifyKeyDer(b, 0, 'der')),
      ),
      RUNS,
    );
  });

  test('keyFromPem under every key label, with and without legacy encryption headers', LIMIT, () => {
    const input = fc.tuple(
      fc.oneof(
        random,
        damaged(() => derSeeds),
        damaged(() => opensshSeeds),
      ),
      fc.constantFrom(...KEY_PEM_LABELS),
      fc.constantFrom(...HEADERS),
    );
    fc.assert(
      fc.property(input, ([b, label, headers]) => {
        // keyFromPem promises not to throw at all: bad bodies become 'unparseable'.
        assertNoSecrets(keyFromPem(label, b, headers, 0), secrets);
      }),
      RUNS,
    );
  });

  test('parseOpenSshPrivateKey', LIMIT, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          random,
          damaged(() => opensshSeeds),
        ),
        (b) => total(() => parseOpenSshPrivateKey(b, 0, 'pem')),
      ),
      RUNS,
    );
  });

  test('parseSshPublicKey and parseSshCertificate', LIMIT, () => {
    // Real type names (and names that are also Object.prototype members) ahead of random fields.
    const typed = fc
      .tuple(
        fc.constantFrom(
          ...SSH_KEY_TYPES,
          ...SSH_CERT_TYPES,
          'constructor',
          '__proto__',
          'toString',
          'ecdsa-sha2-constructor',
          'valueOf-cert-v01@openssh.com',
        ),
        fc.uint8Array({ maxLength: 600 }),
      )
      .map(([t, tail]) => {
        const n = Buffer.alloc(4);
        n.writeUInt32BE(t.length);
        return Buffer.concat([n, Buffer.from(t), tail]);
      });
    const blobs = fc.oneof(
      random,
      typed,
      damaged(() => sshBlobSeeds),
      damaged(() => certSeeds),
    );
    fc.assert(
      fc.property(blobs, (b) => {
        total(() => parseSshPublicKey(b));
        total(() => parseSshCertificate(b));
      }),
      RUNS,
    );
  });

  test('findSshPublicKeys over lines of damaged keys never throws', LIMIT, () => {
    const line = fc.tuple(
      fc.constantFrom(
        'ssh-ed25519',
        'ecdsa-sha2-nistp256',
        'ssh-rsa',
        'ssh-ed25519-cert-v01@openssh.com',
        'ecdsa-sha2-nistp256-cert-v01@openssh.com',
      ),
      fc.oneof(
        damaged(() => sshBlobSeeds),
        damaged(() => certSeeds),
      ),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 4 }), random, (lines, noise) => {
        const text = Buffer.concat([
          noise,
          Buffer.from('\n' + lines.map(([t, b, c]) => `${t} ${b.toString('base64')} ${c}`).join('\n')),
        ]);
        findSshPublicKeys(text);
      }),
      RUNS,
    );
  });

  test('findJwks: damaged JSON gives a result or JWK_MALFORMED; valid JSON never throws', LIMIT, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          random,
          damaged(() => jwkSeeds),
        ),
        (b) => total(() => findJwks(b)),
      ),
      RUNS,
    );
    const b64u = fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u).toString('base64url'));
    const member = fc.oneof(b64u, fc.string(), fc.integer(), fc.constant(null));
    const jwk = fc.record(
      {
        kty: fc.oneof(
          fc.constantFrom('RSA', 'EC', 'OKP', 'oct', 'AKP', 'valueOf', '__proto__', 'constructor'),
          fc.string(),
        ),
        crv: fc.oneof(
          fc.constantFrom('P-256', 'P-384', 'P-521', 'Ed25519', 'Ed448', 'X25519', 'X448', 'secp256k1'),
          fc.string(),
        ),
        n: member,
        e: member,
        x: member,
        y: member,
        d: member,
      },
      { requiredKeys: ['kty'] },
    );
    fc.assert(
      fc.property(fc.array(jwk, { maxLength: 5 }), (keys) => {
        findJwks(Buffer.from(JSON.stringify({ keys })));
      }),
      RUNS,
    );
  });
});

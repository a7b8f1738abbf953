import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CoreError } from '../error.ts';
import type { KeyInfo, Observation, SshCertificateSummary } from '../observation.ts';
import { keyFromPem } from './der-keys.ts';
import { assertNoSecrets, onlyPem, secretForms, sha256Hex, Workdir } from './fixtures.ts';
import { findSshPublicKeys, parseOpenSshPrivateKey } from './openssh.ts';
import { parseSshCertificate } from './ssh-cert.ts';
import { parseSshPublicKey } from './ssh-public.ts';

const w = new Workdir();
after(() => w.dispose());

/** SSH wire string. */
const str = (b: Buffer | string): Buffer => {
  const v = typeof b === 'string' ? Buffer.from(b) : b;
  const n = Buffer.alloc(4);
  n.writeUInt32BE(v.length);
  return Buffer.concat([n, v]);
};

/** The base64 blob of a one-line public key file. */
function blobOf(line: string): Buffer {
  return Buffer.from(line.trim().split(/\s+/)[1]!, 'base64');
}

/** Independent reference identities: ssh-keygen's own PKCS#8 export, or SPKI written out by hand. */
function referenceKeyId(pubFile: string): string {
  const line = w.read(pubFile).toString();
  if (line.startsWith('ssh-ed25519 ')) {
    const pk = blobOf(line).subarray(4 + 11 + 4, 4 + 11 + 4 + 32);
    return sha256Hex(Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pk]));
  }
  return sha256Hex(onlyPem(w.run('ssh-keygen', ['-e', '-m', 'PKCS8', '-f', pubFile])).der);
}

/** Every 16-byte window of `buf` (stride 4), hex and base64: a leak of any part of it would show. */
function windows(buf: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i + 16 <= buf.length; i += 4) {
    const s = buf.subarray(i, i + 16);
    out.push(s.toString('hex'), s.toString('base64'));
  }
  return out;
}

function only(obs: Observation[]): Observation {
  assert.equal(obs.length, 1, `expected one observation, got ${obs.length}`);
  return obs[0]!;
}

function publicKeyOf(o: Observation): KeyInfo {
  assert.equal(o.type, 'public-key');
  return o.key;
}

const SSH_KEYS: readonly [string, readonly string[], Omit<KeyInfo, 'keyId'>][] = [
  ['ed25519', ['-t', 'ed25519'], { algorithm: 'Ed25519', size: 255 }],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256'], { algorithm: 'EC', size: 256, curve: 'P-256' }],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384'], { algorithm: 'EC', size: 384, curve: 'P-384' }],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521'], { algorithm: 'EC', size: 521, curve: 'P-521' }],
  ['rsa', ['-t', 'rsa', '-b', '2048'], { algorithm: 'RSA', size: 2048 }],
];

before(() => {
  for (const [name, args] of SSH_KEYS) {
    w.run('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name} comment`, '-f', name]);
    w.run('ssh-keygen', ['-q', ...args, '-N', 'pass phrase', '-C', 'secret comment', '-f', `${name}-enc`]);
  }
});

describe('OpenSSH private keys', () => {
  for (const [name, , expect] of SSH_KEYS) {
    test(`${name}: plaintext and passphrase-protected keys share the identity of their .pub`, () => {
      const keyId = referenceKeyId(`${name}.pub`);
      const pub = publicKeyOf(only(findSshPublicKeys(w.read(`${name}.pub`))));
      assert.deepEqual(pub, { keyId, ...expect });

      const plainFile = w.read(name);
      const plain = onlyPem(plainFile);
      assert.equal(plain.label, 'OPENSSH PRIVATE KEY');
      const o = keyFromPem(plain.label, plain.der, plain.headers, 0);
      assert.deepEqual(o, {
        type: 'private-key',
        offset: 0,
        encoding: 'pem',
        format: 'openssh',
        key: { keyId, ...expect },
        encrypted: false,
        comment: `${name} comment`,
      });
      assertNoSecrets(o, windows(plain.der));

      const encPem = onlyPem(w.read(`${name}-enc`));
      const encKeyId = referenceKeyId(`${name}-enc.pub`);
      const e = parseOpenSshPrivateKey(encPem.der, 12, 'pem');
      assert.deepEqual(e, {
        type: 'private-key',
        offset: 12,
        encoding: 'pem',
        format: 'openssh',
        key: { keyId: encKeyId, ...expect },
        encrypted: true,
        cipher: 'aes256-ctr/bcrypt',
      });
    });
  }

  test('keys made by openssl and converted by ssh-keygen keep their identity and leak nothing', () => {
    const cases: readonly [string, readonly string[]][] = [
      ['conv-rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
      ['conv-p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
      ['conv-p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521']],
    ];
    for (const [name, args] of cases) {
      w.run('openssl', ['genpkey', ...args, '-out', `${name}.pem`]);
      const priv = createPrivateKey(w.read(`${name}.pem`));
      const keyId = sha256Hex(w.run('openssl', ['pkey', '-in', `${name}.pem`, '-pubout', '-outform', 'DER']));
      const secrets = secretForms(priv);
      // ssh-keygen reads the PEM and prints the SSH public key line.
      const line = w.run('ssh-keygen', ['-y', '-f', `${name}.pem`]);
      const pub = only(findSshPublicKeys(line));
      assert.equal(publicKeyOf(pub).keyId, keyId);
      // ssh-keygen -p rewrites the file in OpenSSH format.
      w.run('ssh-keygen', ['-p', '-P', '', '-N', '', '-C', 'converted', '-f', `${name}.pem`]);
      const pem = onlyPem(w.read(`${name}.pem`));
      const o = parseOpenSshPrivateKey(pem.der, 0, 'pem');
      assert.equal(o.type, 'private-key');
      assert.equal(o.key.keyId, keyId);
      assert.equal(o.encrypted, false);
      assertNoSecrets(o, secrets);
    }
  });

  test('not an OpenSSH key: CoreError SSH_MALFORMED', () => {
    assert.throws(
      () => parseOpenSshPrivateKey(Buffer.from('openssh-key-v2\0'), 0, 'pem'),
      (e: unknown) => e instanceof CoreError && e.code === 'SSH_MALFORMED',
    );
    const plain = onlyPem(w.read('ed25519'));
    assert.throws(
      () => parseOpenSshPrivateKey(plain.der.subarray(0, 80), 0, 'pem'),
      (e: unknown) => e instanceof CoreError && e.code === 'SSH_MALFORMED',
    );
  });
});

describe('SSH public key lines', () => {
  test('DSA: ssh-dss gets the identity of the same key as SPKI', () => {
    w.run('openssl', [
      'genpkey',
      '-genparam',
      '-algorithm',
      'DSA',
      '-pkeyopt',
      'dsa_paramgen_bits:2048',
      '-out',
      'dsap.pem',
    ]);
    w.run('openssl', ['genpkey', '-paramfile', 'dsap.pem', '-out', 'dsa.pem']);
    const keyId = sha256Hex(w.run('openssl', ['pkey', '-in', 'dsa.pem', '-pubout', '-outform', 'DER']));
    const line = w.run('ssh-keygen', ['-y', '-f', 'dsa.pem']);
    assert.deepEqual(publicKeyOf(only(findSshPublicKeys(line))), { keyId, algorithm: 'DSA', size: 2048 });
  });

  test('authorized_keys with options, known_hosts with markers, byte offsets, comments', () => {
    const ed = w.read('ed25519.pub').toString().trim().split(' ');
    const ec = w.read('ecdsa256.pub').toString().trim().split(' ');
    const rsa = w.read('rsa.pub').toString().trim().split(' ');
    const lines = [
      '# authorized_keys — with a non-ASCII comment before any key',
      `from="10.0.0.0/8",command="echo ssh-rsa AAAA",no-pty ${ed[0]} ${ed[1]} deploy key é`,
      `${ec[0]} ${ec[1]}`,
      `host1.example.com,10.1.1.1 ${rsa[0]} ${rsa[1]}`,
      `@cert-authority *.example.com ${ed[0]} ${ed[1]}`,
      'Paste your key as ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ... into the form.',
      '',
    ];
    const text = Buffer.from(lines.join('\n'));
    const found = findSshPublicKeys(text, 1000);
    assert.equal(found.length, 4);
    const [a, b, c, d] = found as [Observation, Observation, Observation, Observation];
    assert.equal(a.offset, 1000 + text.indexOf(`${ed[0]} ${ed[1]}`));
    assert.equal(a.type === 'public-key' && a.comment, 'deploy key é');
    assert.equal(publicKeyOf(a).keyId, referenceKeyId('ed25519.pub'));
    assert.equal(b.offset, 1000 + text.indexOf(ec[1]!) - ec[0]!.length - 1);
    assert.equal(b.type === 'public-key' && b.comment, undefined);
    assert.equal(publicKeyOf(c).keyId, referenceKeyId('rsa.pub'));
    assert.equal(d.offset, 1000 + text.lastIndexOf(`${ed[0]} ${ed[1]}`));
    for (const o of found) assert.equal(o.type === 'public-key' && o.format, 'ssh');
  });

  test('large text is scanned in slices without losing keys or offsets at slice boundaries', () => {
    const line = w.read('ed25519.pub');
    const filler = Buffer.alloc(16 * 1024 * 1024 - 10, 'x\n');
    const text = Buffer.concat([filler, line, filler, line]);
    const found = findSshPublicKeys(text);
    assert.deepEqual(
      found.map((o) => o.offset),
      [filler.length, 2 * filler.length + line.length],
    );
  });

  test('a key token whose blob names its type but does not decode is unparseable', () => {
    const ed = blobOf(w.read('ed25519.pub').toString());
    const broken = Buffer.concat([ed.subarray(0, 19), str(Buffer.alloc(31))]);
    const found = findSshPublicKeys(Buffer.from(`ssh-ed25519 ${broken.toString('base64')} x\n`));
    assert.equal(found.length, 1);
    assert.equal(found[0]!.type, 'unparseable');
    assert.equal(found[0]!.type === 'unparseable' && found[0]!.format, 'ssh:ssh-ed25519');
    // A blob of another type under this name is prose, not a key.
    const other = blobOf(w.read('rsa.pub').toString());
    assert.deepEqual(findSshPublicKeys(Buffer.from(`ssh-ed25519 ${other.toString('base64')}`)), []);
  });

  test('security-key types: algorithm and curve, no keyId', () => {
    const ecJwk = createPublicKey(
      createPrivateKey(
        w.run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']),
      ),
    ).export({
      format: 'jwk',
    });
    const point = Buffer.concat([
      Buffer.of(4),
      Buffer.from(ecJwk.x!, 'base64url'),
      Buffer.from(ecJwk.y!, 'base64url'),
    ]);
    const skEc = Buffer.concat([
      str('sk-ecdsa-sha2-nistp256@openssh.com'),
      str('nistp256'),
      str(point),
      str('ssh:'),
    ]);
    assert.deepEqual(parseSshPublicKey(skEc), { algorithm: 'ECDSA-SK', size: 256, curve: 'P-256' });
    const skEd = Buffer.concat([str('sk-ssh-ed25519@openssh.com'), str(randomBytes(32)), str('ssh:')]);
    assert.deepEqual(parseSshPublicKey(skEd), { algorithm: 'Ed25519-SK', size: 255 });
    const text = Buffer.from(`sk-ssh-ed25519@openssh.com ${skEd.toString('base64')} yubikey\n`);
    const o = only(findSshPublicKeys(text));
    assert.deepEqual(o, {
      type: 'public-key',
      offset: 0,
      encoding: 'text',
      format: 'ssh',
      key: { algorithm: 'Ed25519-SK', size: 255 },
      comment: 'yubikey',
    });
  });
});

/** The fields of `ssh-keygen -L` output that the summary also carries. */
function keygenList(certFile: string): {
  type: string;
  certType: string;
  keyIdentifier: string;
  serial: string;
  valid: string;
  sections: Record<string, string[]>;
} {
  const out = w.run('ssh-keygen', ['-L', '-f', certFile], { TZ: 'UTC' }).toString();
  const typeLine = /Type: (\S+) (user|host) certificate/.exec(out);
  assert.ok(typeLine);
  const sections: Record<string, string[]> = {};
  let current = '';
  for (const line of out.split('\n')) {
    const label = /^ {8}([A-Za-z ]+):/.exec(line);
    if (label) current = label[1]!;
    else if (/^ {16}\S/.test(line)) (sections[current] ??= []).push(line.trim().split(' ')[0]!);
  }
  return {
    type: typeLine[1]!,
    certType: typeLine[2]!,
    keyIdentifier: /Key ID: "(.*)"/.exec(out)![1]!,
    serial: /Serial: (\d+)/.exec(out)![1]!,
    valid: /Valid: (.*)/.exec(out)![1]!,
    sections,
  };
}

function checkAgainstKeygen(cert: SshCertificateSummary, certFile: string): void {
  const l = keygenList(certFile);
  assert.equal(cert.type, l.type);
  assert.equal(cert.certType, l.certType);
  assert.equal(cert.keyIdentifier, l.keyIdentifier);
  assert.equal(cert.serial, l.serial);
  assert.deepEqual(cert.principals, l.sections['Principals'] ?? []);
  assert.deepEqual(cert.criticalOptions, l.sections['Critical Options'] ?? []);
  assert.deepEqual(cert.extensions, l.sections['Extensions'] ?? []);
  const iso = (ms: number | undefined): string =>
    ms === undefined ? 'forever' : new Date(ms).toISOString().slice(0, 19);
  // ssh-keygen's wording: 'forever', 'after X', 'before Y' or 'from X to Y'.
  const valid =
    cert.validBefore === undefined
      ? cert.validAfter === 0
        ? 'forever'
        : `after ${iso(cert.validAfter)}`
      : cert.validAfter === 0
        ? `before ${iso(cert.validBefore)}`
        : `from ${iso(cert.validAfter)} to ${iso(cert.validBefore)}`;
  assert.equal(valid, l.valid);
}

describe('SSH certificates', () => {
  before(() => {
    w.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ed CA', '-f', 'ca-ed']);
    w.run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'rsa CA', '-f', 'ca-rsa']);
  });

  const cases: readonly [string, string, string, readonly string[]][] = [
    [
      'user certificate, ECDSA key, Ed25519 CA, options and serial',
      'ecdsa384',
      'ca-ed',
      [
        '-I',
        'alice id',
        '-n',
        'alice,bob',
        '-V',
        '+52w',
        '-z',
        '12345',
        '-O',
        'force-command=/bin/true',
        '-O',
        'source-address=10.0.0.0/8',
      ],
    ],
    [
      'host certificate valid forever',
      'ed25519',
      'ca-ed',
      ['-h', '-I', 'host1', '-n', 'host.example.com', '-V', 'always:forever'],
    ],
    [
      'RSA CA, open-ended validity, no extensions',
      'rsa',
      'ca-rsa',
      ['-I', 'ci', '-n', 'deploy', '-V', '-1d:forever', '-O', 'clear', '-z', '18446744073709551615'],
    ],
  ];

  for (const [what, subject, ca, args] of cases) {
    test(what, () => {
      w.run('ssh-keygen', ['-q', '-s', ca, ...args, `${subject}.pub`]);
      const certFile = `${subject}-cert.pub`;
      const text = w.read(certFile);
      const o = only(findSshPublicKeys(text));
      assert.equal(o.type, 'ssh-certificate');
      const cert = o.sshCert;
      checkAgainstKeygen(cert, certFile);
      assert.equal(cert.sha256, sha256Hex(blobOf(text.toString())));
      assert.deepEqual(cert.key, publicKeyOf(only(findSshPublicKeys(w.read(`${subject}.pub`)))));
      assert.equal(cert.key.keyId, referenceKeyId(`${subject}.pub`));
      assert.equal(cert.signatureKey.keyId, referenceKeyId(`${ca}.pub`));
      assert.deepEqual(parseSshCertificate(blobOf(text.toString())), cert);
      if (args.includes('always:forever')) assert.equal(cert.validAfter, 0);
    });
  }

  test('an OpenSSH private key whose public half is a certificate is identified by the certified key', () => {
    // Same file layout as a plain key, with a certificate blob in the public key slot.
    w.run('ssh-keygen', ['-q', '-s', 'ca-ed', '-I', 'x', '-n', 'x', 'ed25519.pub']);
    const pem = onlyPem(w.read('ed25519'));
    const certBlob = blobOf(w.read('ed25519-cert.pub').toString());
    const der = pem.der;
    const magic = 15;
    let pos = magic;
    for (let i = 0; i < 3; i++) pos += 4 + der.readUInt32BE(pos); // cipher, kdf, kdf options
    pos += 4; // nkeys
    const pubLen = der.readUInt32BE(pos);
    const swapped = Buffer.concat([der.subarray(0, pos), str(certBlob), der.subarray(pos + 4 + pubLen)]);
    const o = parseOpenSshPrivateKey(swapped, 0, 'pem');
    assert.equal(o.type === 'private-key' && o.key.keyId, referenceKeyId('ed25519.pub'));
  });
});

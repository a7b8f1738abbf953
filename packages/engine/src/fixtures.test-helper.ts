import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd: string, args: string[], cwd: string): void => {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

export interface Tree {
  root: string;
  /** DER of every private key written in plain or encrypted form, to search the store for. */
  privateDers: Buffer[];
}

/**
 * A small tree made with openssl and ssh-keygen: a CA and a leaf, keys in several formats, and the
 * hostile entries the walker must refuse or record (loop, FIFO, dangling link, truncation, garbage).
 */
export function makeTree(): Tree {
  const root = mkdtempSync(join(tmpdir(), 'kw-scan-'));
  const d = (p: string): string => {
    mkdirSync(join(root, p), { recursive: true });
    return join(root, p);
  };
  const pki = d('cloud/pki');
  run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-384',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '3650',
      '-subj',
      '/O=Test OEM/CN=Test Root',
    ],
    pki,
  );
  run(
    'openssl',
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
      '/O=Test OEM/CN=update.example',
    ],
    pki,
  );
  writeFileSync(
    join(pki, 'ext.cnf'),
    'subjectAltName=DNS:update.example\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n',
  );
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      'ext.cnf',
      '-out',
      'leaf.pem',
    ],
    pki,
  );
  run('openssl', ['x509', '-in', 'leaf.pem', '-outform', 'DER', '-out', 'leaf.der'], pki);
  run(
    'openssl',
    [
      'pkcs8',
      '-topk8',
      '-in',
      'leaf.key',
      '-passout',
      'pass:secret',
      '-v2',
      'aes-256-cbc',
      '-out',
      'leaf-enc.key',
    ],
    pki,
  );
  chmodSync(join(pki, 'leaf.key'), 0o644);
  chmodSync(join(pki, 'ca.key'), 0o600);
  const bundle = `# CA bundle\n${readFileSync(join(pki, 'ca.pem'), 'utf8')}\nsome text between\n${readFileSync(join(pki, 'leaf.pem'), 'utf8')}`;
  writeFileSync(join(d('enterprise'), 'bundle.txt'), bundle);
  const ssh = d('enterprise/ci/.ssh');
  run(
    'ssh-keygen',
    ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci@example', '-f', join(ssh, 'id_ed25519')],
    ssh,
  );
  // Bad input.
  const bad = d('bad');
  const der = readFileSync(join(pki, 'leaf.der'));
  writeFileSync(join(bad, 'truncated.crt'), der.subarray(0, der.length >> 1));
  writeFileSync(join(bad, 'garbage.pem'), 'this is not a certificate\n');
  writeFileSync(
    join(bad, 'broken-base64.pem'),
    '-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n',
  );
  writeFileSync(join(bad, 'huge.bin'), Buffer.alloc(300_000, 0x41));
  symlinkSync('..', join(bad, 'loop'));
  symlinkSync(join(bad, 'nowhere'), join(bad, 'dangling.pem'));
  run('mkfifo', [join(bad, 'pipe')], bad);
  const privateDers = ['leaf.key', 'ca.key'].map((k) =>
    execFileSync('openssl', ['pkey', '-in', join(pki, k), '-outform', 'DER']),
  );
  return { root, privateDers };
}

/** Every encoding of the secret bytes we must never find in a store. */
export function secretNeedles(ders: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const der of ders) {
    out.push(der, Buffer.from(der.toString('base64')), Buffer.from(der.toString('hex')));
    // The 64-character PEM line that carries most of the private value. Not just any line: a line
    // of an RSA key's modulus is public, and a certificate for the key may legitimately hold it.
    const secret = Buffer.from(privateValue(der) ?? '', 'base64url');
    const at = secret.length ? der.indexOf(secret) : -1;
    if (at < 0) continue;
    let best = 0;
    let line = 0;
    for (let i = 0; i * 48 < der.length; i++) {
      const overlap = Math.min(at + secret.length, i * 48 + 48) - Math.max(at, i * 48);
      if (overlap > best) [best, line] = [overlap, i];
    }
    out.push(Buffer.from(der.toString('base64').slice(line * 64, line * 64 + 64)));
  }
  return out;
}

/** The private value (RSA d, EC or EdDSA scalar) of a PKCS#8, SEC1 or PKCS#1 DER key, base64url. */
function privateValue(der: Buffer): string | undefined {
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type }).export({ format: 'jwk' }).d;
    } catch {
      // not this container
    }
  }
  return undefined;
}

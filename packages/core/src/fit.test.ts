/**
 * FIT images and control DTBs made by U-Boot's own mkimage (Debian u-boot-tools) from .its sources
 * compiled by dtc (device-tree-compiler), with RSA and ECDSA keys from openssl; parsed values are
 * cross-checked with fdtget and key identities with `openssl pkey -pubout -outform DER | sha256sum`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { hasTool, needTools } from '@keywarden/testkit';
import { CoreError } from './error.ts';
import { parseFdt } from './fdt.ts';
import { parseFit, verifyFitSignature, type Fit } from './fit.ts';

const TOOLS = ['openssl', 'mkimage', 'dtc', 'fdtget'];

let dir = '';
let keys = '';
let n = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-fit-'));
  keys = join(dir, 'keys');
  mkdirSync(keys);
  if (!TOOLS.every(hasTool)) return;
  for (const name of ['dev', 'other']) {
    execFileSync('openssl', ['genrsa', '-out', join(keys, `${name}.key`), '2048'], { stdio: 'ignore' });
    execFileSync(
      'openssl',
      [
        'req',
        '-batch',
        '-new',
        '-x509',
        '-key',
        join(keys, `${name}.key`),
        '-out',
        join(keys, `${name}.crt`),
        '-subj',
        `/CN=${name}`,
      ],
      { stdio: 'ignore' },
    );
  }
  // mkimage reads ECDSA keys from <keydir>/<name>.pem.
  execFileSync('openssl', [
    'ecparam',
    '-name',
    'prime256v1',
    '-genkey',
    '-noout',
    '-out',
    join(keys, 'ec.pem'),
  ]);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function keyId(privateKey: string): string {
  const der = execFileSync('openssl', ['pkey', '-in', privateKey, '-pubout', '-outform', 'DER']);
  return createHash('sha256').update(der).digest('hex');
}

interface Made {
  itb: Buffer;
  dtb: Buffer;
  itbPath: string;
  kernel: Buffer;
}

/**
 * Sign a one-kernel FIT with mkimage. `where` puts the signature node under the configuration or
 * the image; `external` stores the kernel after the blob (mkimage -E).
 */
function makeFit(
  opts: { algo?: string; key?: string; where?: 'conf' | 'image'; external?: boolean; extra?: string } = {},
): Made {
  const algo = opts.algo ?? 'sha256,rsa2048';
  const key = opts.key ?? 'dev';
  const d = join(dir, `case-${n++}`);
  mkdirSync(d);
  const kernel = randomBytes(3000);
  writeFileSync(join(d, 'kernel.bin'), kernel);
  // mkimage 2023.01 adds ECDSA keys only under an existing /signature node.
  writeFileSync(join(d, 'control.dts'), '/dts-v1/;\n/ { signature { }; };\n');
  execFileSync('dtc', ['-I', 'dts', '-O', 'dtb', '-o', join(d, 'control.dtb'), join(d, 'control.dts')]);
  const sig = `signature-1 { algo = "${algo}"; key-name-hint = "${key}"; sign-images = "kernel"; ${opts.extra ?? ''} };`;
  writeFileSync(
    join(d, 'x.its'),
    `/dts-v1/;
/ {
  description = "keywarden test";
  #address-cells = <1>;
  images {
    kernel-1 {
      description = "kernel";
      data = /incbin/("kernel.bin");
      type = "kernel"; arch = "arm"; os = "linux"; compression = "none";
      load = <0x80000>; entry = <0x80000>;
      hash-1 { algo = "sha256"; };
      hash-2 { algo = "crc32"; };
      ${opts.where === 'image' ? sig : ''}
    };
  };
  configurations {
    default = "conf-1";
    conf-1 {
      kernel = "kernel-1";
      ${opts.where === 'image' ? '' : sig}
    };
  };
};
`,
  );
  const itbPath = join(d, 'image.itb');
  execFileSync(
    'mkimage',
    [
      '-f',
      join(d, 'x.its'),
      ...(opts.external ? ['-E'] : []),
      '-k',
      keys,
      '-K',
      join(d, 'control.dtb'),
      '-r',
      itbPath,
    ],
    { cwd: d, stdio: 'ignore' },
  );
  return { itb: readFileSync(itbPath), dtb: readFileSync(join(d, 'control.dtb')), itbPath, kernel };
}

function confSig(fit: Fit) {
  const s = fit.configurations[0]?.signatures[0];
  assert.ok(s, 'configuration signature node');
  return s;
}

function fdtget(path: string, node: string, prop: string, type = 'x'): string {
  return execFileSync('fdtget', ['-t', type, path, node, prop]).toString().trim();
}

describe('U-Boot FIT with an RSA configuration signature', () => {
  let made: Made;
  before(() => {
    if (TOOLS.every(hasTool)) made = makeFit();
  });

  test('the control DTB key has the key identity openssl gives the same key', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const ctl = parseFit(made.dtb);
    assert.equal(ctl.badKeys.length, 0);
    const [k] = ctl.keys;
    assert.ok(k);
    assert.equal(k.name, 'dev');
    assert.equal(k.path, '/signature/key-dev');
    assert.equal(k.required, 'conf');
    assert.equal(k.algo, 'sha256,rsa2048');
    assert.deepEqual(k.key, { keyId: keyId(join(keys, 'dev.key')), algorithm: 'RSA', size: 2048 });
  });

  test('signature node fields and image hashes agree with fdtget', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const fit = parseFit(made.itb);
    assert.equal(fit.description, 'keywarden test');
    const s = confSig(fit);
    assert.equal(s.kind, 'configuration');
    assert.equal(s.path, '/configurations/conf-1/signature-1');
    assert.equal(s.hashAlgorithm, 'sha256');
    assert.equal(s.cryptoAlgorithm, 'rsa2048');
    assert.equal(s.keyNameHint, 'dev');
    assert.equal(s.signerName, 'mkimage');
    assert.deepEqual(fit.configurations[0]?.images, ['/images/kernel-1']);
    assert.deepEqual(s.hashedNodes, fdtget(made.itbPath, s.path, 'hashed-nodes', 's').split(' '));
    assert.equal(s.timestamp, Number.parseInt(fdtget(made.itbPath, s.path, 'timestamp'), 16) * 1000);
    const value = made.itb.subarray(s.value!.start, s.value!.end);
    assert.equal(value.length, 256);
    assert.equal(value.readUInt32BE(0).toString(16), fdtget(made.itbPath, s.path, 'value').split(' ')[0]);
    const [img] = fit.images;
    assert.ok(img?.data);
    assert.deepEqual(made.itb.subarray(img.data.start, img.data.end), made.kernel);
    assert.deepEqual(
      img.hashes.map((h) => [h.algo, h.status]),
      [
        ['sha256', 'valid'],
        ['crc32', 'valid'],
      ],
    );
    assert.equal(img.hashes[0]?.value, createHash('sha256').update(made.kernel).digest('hex'));
  });

  test('verifies with the control DTB key, not with another key', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const fit = parseFit(made.itb);
    const key = parseFit(made.dtb).keys[0]!;
    assert.deepEqual(verifyFitSignature(made.itb, fit, confSig(fit), key.spki), { status: 'valid' });
    const other = parseFit(makeFit({ key: 'other' }).dtb).keys[0]!;
    assert.equal(verifyFitSignature(made.itb, fit, confSig(fit), other.spki).status, 'invalid');
  });

  test('a tampered kernel fails its hash, so the configuration signature is invalid', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const bad = Buffer.from(made.itb);
    const img = parseFit(bad).images[0]!;
    bad[img.data!.start + 10]! ^= 1;
    const fit = parseFit(bad);
    assert.equal(fit.images[0]?.hashes[0]?.status, 'invalid');
    const v = verifyFitSignature(bad, fit, confSig(fit), parseFit(made.dtb).keys[0]!.spki);
    assert.equal(v.status, 'invalid');
    assert.match(v.reason ?? '', /image data sha256/);
  });

  test('a tampered hashed property or signature value does not verify', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const key = parseFit(made.dtb).keys[0]!.spki;
    const desc = made.itb.indexOf('keywarden test');
    const a = Buffer.from(made.itb);
    a[desc] = 0x4b; // 'K': same length, so the tree still parses
    const fa = parseFit(a);
    assert.equal(verifyFitSignature(a, fa, confSig(fa), key).status, 'invalid');
    const b = Buffer.from(made.itb);
    const s = confSig(parseFit(b));
    b[s.value!.start + 100]! ^= 0x80;
    assert.equal(verifyFitSignature(b, parseFit(b), s, key).status, 'invalid');
  });

  test('a truncated or lying blob is a CoreError with the offset and reason', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    assert.throws(
      () => parseFit(made.itb.subarray(0, made.itb.length - 100)),
      (e: unknown) =>
        e instanceof CoreError && /FDT at offset 0 declares \d+ bytes, \d+ are present/.test(e.message),
    );
    assert.throws(
      () => parseFit(made.itb.subarray(0, 20)),
      (e: unknown) => e instanceof CoreError && /needs 40 bytes/.test(e.message),
    );
    const lying = Buffer.from(made.itb);
    const img = parseFit(lying).images[0]!;
    // The data property's length word sits 8 bytes before its value.
    lying.writeUInt32BE(0x7fffffff, img.data!.start - 8);
    assert.throws(
      () => parseFit(lying),
      (e: unknown) => e instanceof CoreError && /declares \d+ value bytes/.test(e.message),
    );
  });

  test('byte flips anywhere give a result or a CoreError, nothing else', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    fc.assert(
      fc.property(fc.nat(made.itb.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const b = Buffer.from(made.itb);
        b[at]! ^= x;
        try {
          const fit = parseFit(b);
          for (const c of fit.configurations)
            for (const s of c.signatures) verifyFitSignature(b, fit, s, parseFit(made.dtb).keys[0]!.spki);
        } catch (e) {
          assert.ok(e instanceof CoreError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('other FIT layouts', () => {
  test('ECDSA P-256 key and configuration signature', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const made = makeFit({ algo: 'sha256,ecdsa256', key: 'ec' });
    const k = parseFit(made.dtb).keys[0];
    assert.ok(k);
    assert.equal(k.name, 'ec');
    assert.deepEqual(k.key, {
      keyId: keyId(join(keys, 'ec.pem')),
      algorithm: 'EC',
      size: 256,
      curve: 'P-256',
    });
    const fit = parseFit(made.itb);
    assert.deepEqual(verifyFitSignature(made.itb, fit, confSig(fit), k.spki), { status: 'valid' });
    const bad = Buffer.from(made.itb);
    bad[bad.indexOf('keywarden test')] = 0x4b;
    const fb = parseFit(bad);
    assert.equal(verifyFitSignature(bad, fb, confSig(fb), k.spki).status, 'invalid');
  });

  test('RSASSA-PSS padding', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const made = makeFit({ extra: 'padding = "pss";' });
    const fit = parseFit(made.itb);
    assert.equal(confSig(fit).padding, 'pss');
    const key = parseFit(made.dtb).keys[0]!;
    assert.deepEqual(verifyFitSignature(made.itb, fit, confSig(fit), key.spki), { status: 'valid' });
  });

  test('a control DTB key whose Montgomery values belong to another modulus is refused', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const made = makeFit();
    const dtb = Buffer.from(made.dtb);
    const n0 = parseFit(dtb).fdt.root.children[0]!.children[0]!.props.find(
      (p) => p.name === 'rsa,n0-inverse',
    )!;
    dtb[n0.start + 3]! ^= 2;
    const ctl = parseFit(dtb);
    assert.equal(ctl.keys.length, 0);
    assert.match(ctl.badKeys[0]?.reason ?? '', /rsa,n0-inverse does not belong to its modulus/);
  });

  test('image signature covers the image data', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const made = makeFit({ where: 'image' });
    const fit = parseFit(made.itb);
    const s = fit.images[0]?.signatures[0];
    assert.ok(s);
    assert.equal(s.kind, 'image');
    const key = parseFit(made.dtb).keys[0]!;
    assert.equal(key.required, 'image');
    assert.deepEqual(verifyFitSignature(made.itb, fit, s, key.spki), { status: 'valid' });
    const bad = Buffer.from(made.itb);
    bad[fit.images[0]!.data!.start]! ^= 1;
    assert.equal(verifyFitSignature(bad, parseFit(bad), s, key.spki).status, 'invalid');
  });

  test('external data (mkimage -E) is found after the blob and checked', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const made = makeFit({ external: true });
    const fit = parseFit(made.itb);
    const img = fit.images[0]!;
    assert.ok(img.data && img.data.start >= fit.fdt.totalSize);
    assert.deepEqual(made.itb.subarray(img.data.start, img.data.end), made.kernel);
    assert.equal(img.hashes[0]?.status, 'valid');
    const key = parseFit(made.dtb).keys[0]!;
    assert.deepEqual(verifyFitSignature(made.itb, fit, confSig(fit), key.spki), { status: 'valid' });
    assert.throws(() => parseFit(made.itb.subarray(0, img.data!.end - 1)), /runs past the end/);
  });

  test('nesting deeper than libfdt allows is refused', (t) => {
    if (!needTools(t, 'dtc')) return;
    const src = join(dir, 'deep.dts');
    writeFileSync(src, `/dts-v1/;\n/ { ${'a { '.repeat(40)}${'}; '.repeat(40)}};\n`);
    const dtb = execFileSync('dtc', ['-I', 'dts', '-O', 'dtb', src], { stdio: ['ignore', 'pipe', 'ignore'] });
    assert.throws(
      () => parseFdt(dtb),
      (e: unknown) => e instanceof CoreError && /nesting deeper than 32/.test(e.message),
    );
  });
});

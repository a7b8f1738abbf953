/**
 * EFI signature lists and authenticated variables made by efitools (cert-to-efi-sig-list,
 * hash-to-efi-sig-list, sign-efi-sig-list) from openssl keys, cross-checked against what
 * sig-list-to-certs extracts and what openssl says about the certificates.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEfi, hasTool, needTools, opensslSigner } from '@keywarden/testkit';
import { verifySigner } from './cms.ts';
import { CoreError } from './error.ts';
import {
  authenticatedVariableContent,
  authenticatedVariableSignedData,
  EFI_AUTH_VARIABLE_ATTRIBUTES,
  EFI_GUID,
  EFI_VARIABLE_APPEND_WRITE,
  findVariableStores,
  guidBytes,
  isAuthenticatedVariable,
  looksLikeSignatureList,
  parseAuthenticatedVariable,
  parseSignatureLists,
  parseVariableStore,
  readGuid,
  secureBootVendor,
  type AuthenticatedVariable,
} from './uefi.ts';

const OWNER = '11111111-2222-3333-4444-555555555555';
const TOOLS = [
  'openssl',
  'cert-to-efi-sig-list',
  'sign-efi-sig-list',
  'sig-list-to-certs',
  'hash-to-efi-sig-list',
];

let dir = '';
let kek = { key: '', cert: '' };
let db1 = { key: '', cert: '' };
let db2 = { key: '', cert: '' };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-uefi-'));
  if (!TOOLS.every(hasTool)) return;
  kek = opensslSigner(dir, 'KEK', 'Keywarden test KEK', { days: 2 });
  db1 = opensslSigner(dir, 'db1', 'Keywarden test db one', { days: 2 });
  db2 = opensslSigner(dir, 'db2', 'Keywarden test db two', {
    newkey: 'ec',
    pkeyopt: 'ec_paramgen_curve:P-256',
  });
});

after(() => rmSync(dir, { recursive: true, force: true }));

const run = (tool: string, ...args: string[]): void => {
  execFileSync(tool, args, { cwd: dir, stdio: 'ignore' });
};

function certDer(pem: string): Buffer {
  return execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER']);
}

/** db.esl holding both db certificates, one list each, as two cert-to-efi-sig-list runs concatenated. */
function dbEsl(): Buffer {
  run('cert-to-efi-sig-list', '-g', OWNER, db1.cert, 'db1.esl');
  run('cert-to-efi-sig-list', '-g', OWNER, db2.cert, 'db2.esl');
  const esl = Buffer.concat([readFileSync(join(dir, 'db1.esl')), readFileSync(join(dir, 'db2.esl'))]);
  writeFileSync(join(dir, 'db.esl'), esl);
  return esl;
}

function signed(varName: string, esl: string, out: string, ...flags: string[]): Buffer {
  run('sign-efi-sig-list', ...flags, '-k', kek.key, '-c', kek.cert, varName, esl, out);
  return readFileSync(join(dir, out));
}

function verifyAs(buf: Buffer, av: AuthenticatedVariable, name: string, attributes: number): string {
  const { buf: view, sd } = authenticatedVariableSignedData(buf, av);
  assert.equal(sd.signers.length, 1);
  const content = authenticatedVariableContent(buf, av, name, secureBootVendor(name)!, attributes);
  return verifySigner(view, sd, sd.signers[0]!, { content }).status;
}

function coded(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CoreError, `expected CoreError, got ${String(e)}`);
    assert.match(e.message, reason);
    return true;
  });
}

describe('GUIDs', () => {
  test('text and the mixed-endian EFI layout round-trip', () => {
    const b = guidBytes(EFI_GUID.certX509);
    assert.equal(b.toString('hex'), 'a159c0a5e494a74a87b5ab155c2bf072');
    assert.equal(readGuid(b, 0), EFI_GUID.certX509);
    coded(() => guidBytes('not-a-guid'), /not a GUID/);
  });
});

describe('EFI_SIGNATURE_LIST from efitools', () => {
  test('each certificate is found at its offset, equal to what sig-list-to-certs extracts', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const esl = dbEsl();
    assert.ok(looksLikeSignatureList(esl));
    const lists = parseSignatureLists(esl);
    assert.equal(lists.length, 2);
    run('sig-list-to-certs', 'db.esl', 'out');
    const extracted = readdirSync(dir)
      .filter((f) => /^out-\d+\.der$/.test(f))
      .sort()
      .map((f) => readFileSync(join(dir, f)));
    assert.equal(extracted.length, 2);
    lists.forEach((l, i) => {
      assert.equal(l.type, EFI_GUID.certX509);
      assert.equal(l.typeName, 'x509');
      assert.equal(l.headerSize, 0);
      assert.equal(l.entries.length, 1);
      const e = l.entries[0]!;
      assert.equal(e.owner, OWNER);
      const der = esl.subarray(e.data.start, e.data.end);
      assert.deepEqual(der, extracted[i]);
      assert.deepEqual(der, certDer(i === 0 ? db1.cert : db2.cert));
    });
    assert.equal(lists[1]!.offset, lists[0]!.end);
    assert.equal(lists[1]!.end, esl.length);
  });

  test('hash lists keep every hash, equal to the file sig-list-to-certs writes', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    writeFileSync(join(dir, 'a.efi'), buildEfi({ is64: true }));
    writeFileSync(join(dir, 'b.efi'), buildEfi({ is64: false }));
    run('hash-to-efi-sig-list', 'a.efi', 'b.efi', 'dbx.esl');
    const esl = readFileSync(join(dir, 'dbx.esl'));
    const lists = parseSignatureLists(esl);
    const hashes = lists.flatMap((l) => {
      assert.equal(l.typeName, 'sha256');
      assert.equal(l.signatureSize, 48);
      return l.entries.map((e) => esl.subarray(e.data.start, e.data.end));
    });
    assert.equal(hashes.length, 2);
    run('sig-list-to-certs', 'dbx.esl', 'hx');
    const files = readdirSync(dir)
      .filter((f) => /^hx-\d+\.hash$/.test(f))
      .sort()
      .map((f) => readFileSync(join(dir, f)));
    assert.deepEqual(hashes, files);
  });

  test('lying sizes and truncation give coded errors naming the offset', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const esl = dbEsl();
    const first = parseSignatureLists(esl)[0]!;
    coded(() => parseSignatureLists(esl.subarray(0, esl.length - 1)), /declares \d+ bytes, only \d+ remain/);
    coded(
      () => parseSignatureLists(esl.subarray(0, first.end + 10)),
      /truncated EFI_SIGNATURE_LIST header at offset/,
    );
    const bad = Buffer.from(esl);
    bad.writeUInt32LE(first.signatureSize - 1, 24);
    coded(() => parseSignatureLists(bad), /not a multiple of SignatureSize/);
    bad.writeUInt32LE(4, 24);
    coded(() => parseSignatureLists(bad), /below the owner GUID/);
    const hdr = Buffer.from(esl);
    hdr.writeUInt32LE(0xffffffff, 20);
    coded(() => parseSignatureLists(hdr), /HeaderSize 4294967295 exceeds ListSize/);
    const sha = Buffer.concat([guidBytes(EFI_GUID.certSha256), Buffer.alloc(12), Buffer.alloc(16 + 20)]);
    sha.writeUInt32LE(sha.length, 16);
    sha.writeUInt32LE(36, 24);
    coded(() => parseSignatureLists(sha), /type sha256 has SignatureSize 36, not 48/);
    assert.deepEqual(parseSignatureLists(esl, 5, 5), []);
    coded(() => parseSignatureLists(esl, 0, esl.length + 1), /outside a buffer/);
  });
});

describe('authenticated variables from sign-efi-sig-list', () => {
  test('the KEK signs db: signer certificate, timestamp, payload lists, signature valid only as db', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const esl = dbEsl();
    const auth = signed('db', 'db.esl', 'db.auth', '-t', '2025-01-02 03:04:05');
    assert.ok(isAuthenticatedVariable(auth));
    assert.ok(!looksLikeSignatureList(auth));
    const av = parseAuthenticatedVariable(auth);
    assert.equal(av.certType, EFI_GUID.certTypePkcs7);
    assert.equal(av.timeStamp.epochMs, Date.UTC(2025, 0, 2, 3, 4, 5));
    assert.deepEqual(auth.subarray(av.data.start, av.data.end), esl);
    assert.equal(av.lists.length, 2);
    const before = createHash('sha256').update(auth).digest('hex');
    const { buf: view, sd } = authenticatedVariableSignedData(auth, av);
    assert.equal(createHash('sha256').update(auth).digest('hex'), before, 'the input is not patched');
    // The ranges point into the original file, not only into the patched copy.
    assert.equal(sd.certificates.length, 1);
    const c = sd.certificates[0]!;
    assert.deepEqual(auth.subarray(c.start, c.end), certDer(kek.cert));
    assert.deepEqual(view.subarray(av.pkcs7.start, auth.length), auth.subarray(av.pkcs7.start));
    assert.equal(verifyAs(auth, av, 'db', EFI_AUTH_VARIABLE_ATTRIBUTES), 'valid');
    assert.equal(verifyAs(auth, av, 'KEK', EFI_AUTH_VARIABLE_ATTRIBUTES), 'invalid');
    assert.equal(verifyAs(auth, av, 'dbx', EFI_AUTH_VARIABLE_ATTRIBUTES), 'invalid');
    assert.equal(
      verifyAs(auth, av, 'db', EFI_AUTH_VARIABLE_ATTRIBUTES | EFI_VARIABLE_APPEND_WRITE),
      'invalid',
    );
  });

  test('an append update signs the APPEND_WRITE attribute; PK and KEK use the global GUID', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    dbEsl();
    const app = signed('db', 'db.esl', 'append.auth', '-a');
    const av = parseAuthenticatedVariable(app);
    assert.equal(verifyAs(app, av, 'db', EFI_AUTH_VARIABLE_ATTRIBUTES | EFI_VARIABLE_APPEND_WRITE), 'valid');
    run('cert-to-efi-sig-list', '-g', OWNER, kek.cert, 'KEK.esl');
    const k = signed('KEK', 'KEK.esl', 'KEK.auth');
    const kav = parseAuthenticatedVariable(k);
    assert.equal(secureBootVendor('KEK'), EFI_GUID.globalVariable);
    assert.equal(verifyAs(k, kav, 'KEK', EFI_AUTH_VARIABLE_ATTRIBUTES), 'valid');
    assert.equal(verifyAs(k, kav, 'PK', EFI_AUTH_VARIABLE_ATTRIBUTES), 'invalid');
  });

  test('a tampered payload or timestamp no longer verifies', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    dbEsl();
    const auth = signed('db', 'db.esl', 'tamper.auth');
    const av = parseAuthenticatedVariable(auth);
    const payload = Buffer.from(auth);
    payload[av.data.end - 40]! ^= 1;
    assert.equal(verifyAs(payload, parseAuthenticatedVariable(payload), 'db', 0x27), 'invalid');
    const time = Buffer.from(auth);
    time[6]! ^= 1;
    assert.equal(verifyAs(time, parseAuthenticatedVariable(time), 'db', 0x27), 'invalid');
    const sig = Buffer.from(auth);
    sig[av.pkcs7.end - 5]! ^= 1;
    assert.equal(verifyAs(sig, parseAuthenticatedVariable(sig), 'db', 0x27), 'invalid');
  });

  test('truncated and lying headers give coded errors', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    dbEsl();
    const auth = signed('db', 'db.esl', 'trunc.auth');
    const av = parseAuthenticatedVariable(auth);
    coded(() => parseAuthenticatedVariable(auth.subarray(0, 30)), /truncated EFI_VARIABLE_AUTHENTICATION_2/);
    coded(() => parseAuthenticatedVariable(auth.subarray(0, 600)), /declares dwLength \d+/);
    coded(() => parseAuthenticatedVariable(auth.subarray(0, auth.length - 3)), /only \d+ remain/);
    const rev = Buffer.from(auth);
    rev[20] = 1;
    coded(() => parseAuthenticatedVariable(rev), /revision 0x201/);
    const type = Buffer.from(auth);
    type[24]! ^= 0xff;
    coded(() => authenticatedVariableSignedData(type, parseAuthenticatedVariable(type)), /not PKCS7/);
    const der = Buffer.from(auth);
    der[av.pkcs7.start + 1] = 0x84;
    coded(() => authenticatedVariableSignedData(der, parseAuthenticatedVariable(der)), /offset 40/);
  });
});

interface Var {
  name: string;
  vendor: string;
  data: Buffer;
  state?: number;
}

/** An authenticated EDK II variable store as OVMF lays it out, 0xFF (erased flash) after the variables. */
function variableStore(vars: Var[], size = 0x4000): Buffer {
  const store = Buffer.alloc(size, 0xff);
  guidBytes(EFI_GUID.authenticatedVariableStore).copy(store, 0);
  store.writeUInt32LE(size, 16);
  store.writeUInt8(0x5a, 20);
  store.writeUInt8(0xfe, 21);
  store.writeUInt16LE(0, 22);
  store.writeUInt32LE(0, 24);
  let pos = 28;
  for (const v of vars) {
    const name = Buffer.from(`${v.name}\0`, 'utf16le');
    const h = Buffer.alloc(60);
    h.writeUInt16LE(0x55aa, 0);
    h.writeUInt8(v.state ?? 0x3f, 2);
    h.writeUInt32LE(0x27, 4);
    h.writeUInt16LE(2024, 16);
    h.writeUInt8(6, 18);
    h.writeUInt8(1, 19);
    h.writeUInt32LE(name.length, 36);
    h.writeUInt32LE(v.data.length, 40);
    guidBytes(v.vendor).copy(h, 44);
    Buffer.concat([h, name, v.data]).copy(store, pos);
    pos += Math.ceil((60 + name.length + v.data.length) / 4) * 4;
  }
  return store;
}

describe('EDK II variable stores', () => {
  test('variables with names, vendors, states and data ranges; the store is found inside an image', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const esl = dbEsl();
    const boot = Buffer.from('not a signature list');
    const store = variableStore([
      { name: 'dbx', vendor: EFI_GUID.imageSecurityDatabase, data: esl, state: 0x3c },
      { name: 'Boot0000', vendor: EFI_GUID.globalVariable, data: boot },
      { name: 'db', vendor: EFI_GUID.imageSecurityDatabase, data: esl },
    ]);
    const image = Buffer.concat([Buffer.alloc(0x48, 0x11), store, Buffer.alloc(100)]);
    assert.deepEqual(findVariableStores(image), [0x48]);
    const vs = parseVariableStore(image, 0x48);
    assert.equal(vs.authenticated, true);
    assert.equal(vs.end, 0x48 + store.length);
    assert.deepEqual(
      vs.variables.map((v) => [v.name, v.vendorGuid, v.live]),
      [
        ['dbx', EFI_GUID.imageSecurityDatabase, false],
        ['Boot0000', EFI_GUID.globalVariable, true],
        ['db', EFI_GUID.imageSecurityDatabase, true],
      ],
    );
    const db = vs.variables[2]!;
    assert.equal(db.offset % 4, 0);
    assert.equal(db.attributes, 0x27);
    assert.equal(db.timeStamp?.epochMs, Date.UTC(2024, 5, 1));
    assert.deepEqual(image.subarray(db.data.start, db.data.end), esl);
    assert.equal(parseSignatureLists(image, db.data.start, db.data.end).length, 2);
    assert.deepEqual(image.subarray(vs.variables[1]!.data.start, vs.variables[1]!.data.end), boot);
  });

  test('lying store and variable headers give coded errors', () => {
    const store = variableStore([
      { name: 'db', vendor: EFI_GUID.imageSecurityDatabase, data: Buffer.alloc(40) },
    ]);
    coded(() => parseVariableStore(store.subarray(0, 0x1000), 0), /declares 16384 bytes, 4096 remain/);
    coded(() => parseVariableStore(store, 1), /no variable store signature at offset 1/);
    coded(() => parseVariableStore(store, store.length - 10), /truncated variable store header/);
    const odd = Buffer.from(store);
    odd.writeUInt32LE(7, 28 + 36);
    coded(() => parseVariableStore(odd, 0), /offset 28 has NameSize 7/);
    const long = Buffer.from(store);
    long.writeUInt32LE(0x10000, 28 + 40);
    coded(() => parseVariableStore(long, 0), /past the store end/);
    const unhealthy = Buffer.from(store);
    unhealthy[21] = 0;
    assert.deepEqual(findVariableStores(unhealthy), []);
  });
});

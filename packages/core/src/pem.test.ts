import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { findPemBlocks, hasPem } from './pem.ts';

const spki = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
const pem = `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`;

test('blocks in a concatenated bundle with text between them, each at its byte offset', () => {
  const text = Buffer.from(`# bundle\n${pem}between\n${pem}`);
  const blocks = findPemBlocks(text);
  assert.deepEqual(
    blocks.map((b) => b.offset),
    [9, 9 + pem.length + 8],
  );
  for (const b of blocks) assert.deepEqual(b.der, spki);
});

test('PEM kept as an escaped string inside JSON decodes to the same bytes', () => {
  const json = Buffer.from(JSON.stringify({ tls: { ca: pem } }));
  assert.ok(hasPem(json));
  const [b] = findPemBlocks(json);
  assert.equal(b?.error, undefined);
  assert.deepEqual(b?.der, spki);
});

test('RFC 1421 headers are kept and do not reach the body', () => {
  const legacy = Buffer.from(
    `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n`,
  );
  const [b] = findPemBlocks(legacy);
  assert.equal(b?.headers['Proc-Type'], '4,ENCRYPTED');
  assert.equal(b?.der.length, 3);
});

test('a block without its END line or with a broken body is reported, not thrown', () => {
  const [cut] = findPemBlocks(Buffer.from(pem.slice(0, 40)));
  assert.match(cut?.error ?? '', /no matching END/);
  const [bad] = findPemBlocks(Buffer.from('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n'));
  assert.match(bad?.error ?? '', /invalid base64/);
});

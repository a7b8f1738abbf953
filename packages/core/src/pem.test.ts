import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
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

test('a block cut off inside its END line is reported, not thrown', () => {
  // Five dashes too close to the end of the input once made the END-line compare run past it.
  for (const tail of ['-----', '-----END', '-----END CERTIFICATE', '--'])
    for (const cert of ['-----BEGIN CERTIFICATE-----\nAAAA\n', `-----BEGIN CERTIFICATE-----\nAA-A\n`]) {
      const blocks = findPemBlocks(Buffer.from(cert + tail));
      assert.equal(blocks.length, 1);
      assert.match(blocks[0]?.error ?? '', /no matching END CERTIFICATE/);
    }
});

test('an underscore or dash in one body leaves the next clean body on the fast path', () => {
  const block = (body: string): string => `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
  const b64 = spki.toString('base64');
  for (const odd of ['_', '-']) {
    const text = Buffer.from(
      block(odd + b64.slice(1)) + 'x_y\n' + block(b64) + block(b64.slice(0, 4) + odd + b64.slice(5)),
    );
    const [first, second, third] = findPemBlocks(text);
    assert.match(first?.error ?? '', /invalid base64/);
    assert.deepEqual(second?.der, spki);
    assert.match(third?.error ?? '', /invalid base64/);
  }
});

// A strict reference for what a block's body means: RFC 1421 headers aside, base64 digits and
// whitespace with at most two '=' at the end. Every layout and corruption must decode the same way
// (or be refused the same way) whichever of findPemBlocks' paths takes it.
function reference(body: string): Buffer | undefined {
  const blank = body.search(/\r?\n\r?\n/);
  if (blank !== -1 && body.slice(0, blank).includes(':')) body = body.slice(blank);
  const b64 = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) return undefined;
  if (b64.includes('=') && b64.length % 4 !== 0) return undefined;
  return Buffer.from(b64, 'base64');
}

test('every body layout and corruption decodes as the strict reference does', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 300 }),
      fc.constantFrom(64, 76, 4, 8, 63, 100),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(' ', '\t', '-', '_', '=', '!', '\n', '\r', 'A', ':')), {
        maxLength: 3,
      }),
      (bytes, width, eol, stripPad, edits) => {
        let b64 = Buffer.from(bytes).toString('base64');
        if (stripPad) b64 = b64.replace(/=+$/, '');
        const lines: string[] = [];
        for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
        let body = eol + lines.map((l) => l + eol).join('');
        for (const [at, ch] of edits) {
          const i = body.length === 0 ? 0 : at % body.length;
          body = body.slice(0, i) + ch + body.slice(i + 1);
        }
        const [block] = findPemBlocks(
          Buffer.from(`-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----\n`),
        );
        const want = reference(body);
        if (want === undefined) assert.equal(block?.error, 'invalid base64 in PEM body');
        else {
          assert.equal(block?.error, undefined);
          assert.deepEqual(block?.der, want);
        }
      },
    ),
    { numRuns: 3000 },
  );
});

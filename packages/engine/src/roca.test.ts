import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { rocaFingerprint } from './roca.ts';

const SMALL_PRIMES = [
  2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103,
  107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
].map(BigInt);

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

function probablePrime(n: bigint): boolean {
  for (const p of SMALL_PRIMES) if (n % p === 0n) return n === p;
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n]) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let i = 1; i < s && composite; i++) if ((x = (x * x) % n) === n - 1n) composite = false;
    if (composite) return false;
  }
  return true;
}

const rand = (bytes: number): bigint => BigInt(`0x${randomBytes(bytes).toString('hex')}`);

/** A prime built the way RSALib built them: k * M + (65537^a mod M), M the primorial of 3..167 and 2. */
function rsalibPrime(): bigint {
  const M = SMALL_PRIMES.reduce((x, y) => x * y, 1n);
  for (;;) {
    const p = rand(8) * M + modPow(65537n, rand(8), M);
    if (probablePrime(p)) return p;
  }
}

test('a modulus made of RSALib-form primes has the ROCA fingerprint', () => {
  for (let i = 0; i < 3; i++) assert.equal(rocaFingerprint(rsalibPrime() * rsalibPrime()), true);
});

test('moduli of keys OpenSSL generates do not', () => {
  for (let i = 0; i < 5; i++) {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const n = BigInt(`0x${Buffer.from(publicKey.export({ format: 'jwk' }).n!, 'base64url').toString('hex')}`);
    assert.equal(rocaFingerprint(n), false);
  }
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalize, parseCanonical } from './jcs.ts';

// Examples from RFC 8785 §3.2.2 (mixed data), §3.2.3 (property sorting) and Appendix B (numbers).
describe('RFC 8785 canonical JSON', () => {
  test('§3.2.2: numbers, string escapes and literals', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    assert.equal(
      canonicalize(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('§3.2.3: properties sort by UTF-16 code units', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalize(input)) as object);
    // Object.keys puts integer-like keys first, so compare the serialised order instead.
    assert.deepEqual(keys.length, 7);
    const order = [...canonicalize(input).matchAll(/"([^"]*)":/g)].map(
      (m) => JSON.parse(`"${m[1]}"`) as string,
    );
    assert.deepEqual(order, ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  test('Appendix B: IEEE 754 values serialise as ECMAScript numbers', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ];
    for (const [bits, want] of cases)
      assert.equal(canonicalize(Buffer.from(bits, 'hex').readDoubleBE(0)), want, bits);
  });

  test('refuses what JSON cannot carry and what is not canonical', () => {
    assert.throws(() => canonicalize(Number.NaN), /number NaN/);
    assert.throws(() => canonicalize({ a: 1n }), /bigint/);
    assert.throws(() => canonicalize('\ud800'), /lone surrogate/);
    assert.throws(() => canonicalize(new Date(0)), /plain objects/);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    assert.throws(() => canonicalize(deep), /deeper than/);
    assert.throws(
      () => parseCanonical('{"b":1,"a":2}', 'entry 3'),
      /entry 3 .*not in RFC 8785 canonical form/,
    );
    assert.throws(() => parseCanonical('{"a":1,"a":2}', 'entry 3'), /canonical form/);
    assert.deepEqual(parseCanonical('{"a":2,"b":[1,"x"]}', 'e'), { a: 2, b: [1, 'x'] });
  });
});

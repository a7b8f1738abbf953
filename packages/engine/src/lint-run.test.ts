import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasTool, needTools } from '@keywarden/testkit';
import { openTestStore } from '../../store/src/dialects.test-helper.ts';
import { OpensslCa } from '../../analyze/src/lint/openssl-ca.test-helper.ts';
import { lintStore } from './lint-run.ts';
import { runScan } from './scan-job.ts';

const AT = Date.UTC(2026, 11, 1);
const START = '20260101000000Z';
const VID = '1.3.6.1.4.1.37244.2.1';
const PID = '1.3.6.1.4.1.37244.2.2';
const KEYIDS = ['subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'];

describe('lintStore over a scanned SQLite store', () => {
  let root = '';
  let ca: OpensslCa | undefined;
  let ctx: Awaited<ReturnType<typeof openTestStore>> | undefined;
  before(async () => {
    if (!hasTool('openssl')) return; // each test then skips, naming the package
    root = mkdtempSync(join(tmpdir(), 'kw-lintstore-'));
    ca = new OpensslCa();
    const paa = ca.make({
      subj: `/CN=Lint PAA/${VID}=FFF1`,
      ext: [
        'basicConstraints=critical,CA:TRUE,pathlen:1',
        'keyUsage=critical,keyCertSign,cRLSign',
        ...KEYIDS,
      ],
      start: START,
      end: '99991231235959Z',
    });
    const pai = ca.make({
      subj: `/CN=Lint PAI/${VID}=FFF1`,
      ext: [
        'basicConstraints=critical,CA:TRUE,pathlen:0',
        'keyUsage=critical,keyCertSign,cRLSign',
        ...KEYIDS,
      ],
      issuer: paa,
      start: START,
      end: '20460101000000Z',
    });
    // VID differs from its PAI: only a chain-aware run can see that.
    const dac = ca.make({
      subj: `/CN=Lint DAC/${VID}=FFF2/${PID}=8000`,
      ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', ...KEYIDS],
      issuer: pai,
      start: START,
      end: '99991231235959Z',
    });
    for (const [n, m] of [
      ['paa', paa],
      ['pai', pai],
      ['dac', dac],
    ] as const)
      writeFileSync(join(root, `${n}.der`), m.der);
    ctx = await openTestStore('sqlite');
    await runScan({ roots: [root], store: ctx.store, threads: 0, at: AT });
  });
  after(async () => {
    await ctx?.dispose();
    ca?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('profiles are chosen per certificate and the issuer comes from the estate', async (t) => {
    if (!needTools(t, 'openssl') || !ctx) return;
    const { rows, skipped } = await lintStore(ctx.store, { at: AT });
    assert.deepEqual(skipped, []);
    const by = (cn: string) => rows.find((r) => r.subject.includes(cn));
    assert.deepEqual(
      ['Lint PAA', 'Lint PAI', 'Lint DAC'].map((cn) => [by(cn)?.profile, by(cn)?.results.map((x) => x.id)]),
      [
        ['matter-paa', []],
        ['matter-pai', []],
        ['matter-dac', ['kw.matter.dac.vid-matches-pai']],
      ],
    );
    assert.ok(rows.every((r) => r.assetId.length > 0 && r.reason.length > 0));
  });

  test('a forced profile applies to every certificate', async (t) => {
    if (!needTools(t, 'openssl') || !ctx) return;
    const { rows } = await lintStore(ctx.store, { at: AT, profile: 'web-server' });
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.profile === 'web-server' && r.reason === 'profile given by the caller'));
    const dac = rows.find((r) => r.subject.includes('Lint DAC'))!;
    assert.ok(dac.results.some((x) => x.id === 'kw.webpki.validity-398-days'));
  });
});

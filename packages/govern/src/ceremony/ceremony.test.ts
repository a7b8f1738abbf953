import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { EvidenceLog, type Statement } from '@keywarden/evidence';
import { softHsmToken, toolsMissing, type SoftHsmToken } from '@keywarden/testkit';
import { signApproval } from '../approvals/approval.ts';
import { auditApprovals, recordApproval } from '../approvals/log-records.ts';
import { createRequest } from '../approvals/request.ts';
import { GovernError } from '../error.ts';
import { GrapheneHsm } from '../hsm/graphene-hsm.ts';
import type { Hsm } from '../hsm/hsm.ts';
import { loadRoster } from '../roster/changes.ts';
import type { GovernLog } from '../roster/governed-log.ts';
import type { CeremonyEntry } from './entry.ts';
import { makeWorld, ROOT_SCRIPT, type PersonId, type World } from './fixtures.test-helper.ts';
import { ceremonyReport } from './report.ts';
import { renderCeremonyHtml } from './report-html.ts';
import { performStep, recordException, startCeremony, type CeremonySigner } from './run.ts';
import { loadCeremonyScript, parseCeremonyScript } from './script.ts';
import { loadCeremony } from './state.ts';
import { verifyCeremony } from './verify.ts';

const PIN_VAR = 'KW_TEST_CEREMONY_PIN';
const script = parseCeremonyScript(ROOT_SCRIPT, 'root.yaml');
const participants = { alice: 'custodian', bob: 'custodian', carol: 'auditor' };

function refused(code: string, re: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof GovernError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  };
}

describe(
  'root key ceremony on SoftHSM2',
  { skip: toolsMissing('softhsm2-util', 'pkcs11-tool', 'openssl') },
  () => {
    let tmp: string;
    let token: SoftHsmToken;
    let hsm: GrapheneHsm;
    let w: World;
    let tbs: Buffer;
    const me = (p: PersonId): CeremonySigner => ({ person: p, key: w.keys[p] });

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'kw-ceremony-'));
      token = softHsmToken({ label: 'kw-ceremony' });
      process.env[PIN_VAR] = token.pin;
      hsm = new GrapheneHsm();
      await hsm.open(token.module, { tokenLabel: token.label, pin: { env: PIN_VAR }, readWrite: true });
      w = await makeWorld(tmp);
      tbs = randomBytes(700);
    });
    after(() => {
      hsm?.close();
      w?.log.close();
      token?.cleanup();
      delete process.env[PIN_VAR];
      rmSync(tmp, { recursive: true, force: true });
    });

    async function approvedRequest(log: GovernLog) {
      const request = createRequest({
        operation: 'generate',
        keyId: 'root-2026',
        requester: 'carol',
        policyDigest: w.policyDigest,
        at: Date.now() - 1000,
      });
      for (const p of ['alice', 'bob'] as const)
        await recordApproval(log, request, signApproval(request, p, 'approve', w.keys[p], Date.now() - 500));
      return request;
    }

    async function runToEnd(id: string, log: GovernLog = w.log, tokenHsm: Hsm = hsm) {
      const roster = loadRoster(log);
      await performStep(log, roster, id, 'room-check', {
        performer: me('carol'),
        witnesses: [me('alice'), me('bob')],
      });
      const request = await approvedRequest(log);
      await performStep(log, loadRoster(log), id, 'approve', {
        performer: me('alice'),
        witnesses: [me('carol')],
        request,
      });
      const gen = await performStep(log, roster, id, 'generate-root', {
        performer: me('alice'),
        witnesses: [me('bob'), me('carol')],
        hsm: tokenHsm,
      });
      const sign = await performStep(log, roster, id, 'sign-tbs', {
        performer: me('bob'),
        witnesses: [me('carol')],
        hsm: tokenHsm,
        artefacts: { 'root.tbs': tbs },
      });
      await performStep(log, roster, id, 'record-notes', {
        performer: me('carol'),
        witnesses: [me('alice')],
        artefacts: { 'worksheet.pdf': Buffer.from('signed worksheet scan') },
      });
      return { gen, sign };
    }

    test('runs end to end: key on the token, signature checks with openssl, report and verify pass', async () => {
      const { id } = await startCeremony(script, w.log, loadRoster(w.log), {
        participants,
        by: me('carol'),
        id: 'root-a',
      });
      const { gen, sign } = await runToEnd(id);
      assert.ok(
        gen.intentIndex !== undefined && gen.intentIndex < gen.index,
        'intent logged before the outcome',
      );

      // The key identity the ceremony logged hashes an SPKI whose point is the one pkcs11-tool lists.
      const listed = token.pkcs11Tool('--list-objects', '--type', 'pubkey', '--id', gen.hsm!.id);
      const point = /EC_POINT:\s+0461([0-9a-f]{194})/.exec(listed)?.[1];
      assert.ok(point, listed);
      const spki = Buffer.from(gen.hsm!.spki!, 'base64');
      assert.equal(spki.subarray(-97).toString('hex'), point);
      assert.equal(gen.hsm!.keyId, createHash('sha256').update(spki).digest('hex'));
      const pem = execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-pubout'], {
        input: spki,
        encoding: 'utf8',
      });
      assert.deepEqual(
        [
          gen.hsm!.flags?.sensitive,
          gen.hsm!.flags?.extractable,
          gen.hsm!.flags?.neverExtractable,
          gen.hsm!.flags?.local,
        ],
        [true, false, true, true],
      );

      // openssl accepts the token's signature over the TBS blob under that key.
      writeFileSync(join(tmp, 'root.pem'), pem);
      writeFileSync(join(tmp, 'root.tbs'), tbs);
      writeFileSync(join(tmp, 'root.sig'), sign.output!.bytes);
      const ok = execFileSync(
        'openssl',
        [
          'dgst',
          '-sha384',
          '-verify',
          join(tmp, 'root.pem'),
          '-signature',
          join(tmp, 'root.sig'),
          join(tmp, 'root.tbs'),
        ],
        { encoding: 'utf8' },
      );
      assert.match(ok, /Verified OK/);

      const v = verifyCeremony(w.log, id);
      assert.deepEqual(v.problems, []);
      assert.equal(v.status, 'complete');
      // The approval step cites its request, so the auditor's offline quorum re-run covers it too.
      const audited = auditApprovals(w.log).operations.filter((o) => o.type === 'ceremony.step');
      assert.ok(audited.length >= 1 && audited.every((o) => o.met), JSON.stringify(audited));

      const report = ceremonyReport(w.log, id);
      assert.equal(report.keys.length, 1);
      assert.equal(report.keys[0]!.keyId, gen.hsm!.keyId);
      assert.equal(report.keys[0]!.flags?.neverExtractable, true);
      assert.equal(
        report.artefacts.find((a) => a.name === 'root.tbs')?.digest,
        `sha256:${createHash('sha256').update(tbs).digest('hex')}`,
      );
      assert.deepEqual(
        report.participants.map((p) => p.role),
        ['custodian', 'custodian', 'auditor'],
      );
      assert.ok(report.steps.every((s) => s.status === 'done'));
      assert.ok(
        report.steps[2]!.entries.every((e) => e.signatures.length === 3 && e.signatures.every((s) => s.ok)),
      );
      // Every bundle proves its entry into the checkpoint the report carries.
      const { verifyBundle, parseVkey } = await import('@keywarden/evidence');
      const vkey = parseVkey(execFileSync('cat', [join(tmp, 'log', 'log.vkey')], { encoding: 'utf8' }));
      assert.equal(report.bundles.length, 8);
      assert.ok(report.bundles.every((b) => verifyBundle(b, [vkey]).ok));

      const html = renderCeremonyHtml(report);
      assert.match(html, new RegExp(gen.hsm!.keyId!));
      assert.doesNotMatch(html, /<script|<link|src=|https?:\/\//i);
    });

    test('a step out of order and a step with a missing witness are refused, nothing logged', async () => {
      const { id } = await startCeremony(script, w.log, loadRoster(w.log), {
        participants,
        by: me('carol'),
        id: 'root-b',
      });
      const size = w.log.size;
      await assert.rejects(
        performStep(w.log, loadRoster(w.log), id, 'generate-root', {
          performer: me('alice'),
          witnesses: [me('bob'), me('carol')],
          hsm,
        }),
        refused('BAD_ARGUMENT', /out of order: the next step of ceremony root-b is room-check/),
      );
      await assert.rejects(
        performStep(w.log, loadRoster(w.log), id, 'room-check', {
          performer: me('carol'),
          witnesses: [me('alice')],
        }),
        refused('BAD_ARGUMENT', /needs the signatures of 2 custodian witness\(es\); 1 given/),
      );
      await assert.rejects(
        performStep(w.log, loadRoster(w.log), id, 'room-check', {
          performer: me('alice'),
          witnesses: [me('bob'), me('carol')],
        }),
        refused('BAD_ARGUMENT', /performed by a auditor|performed by an? auditor/),
      );
      // A key file that is not the person's key on the roster.
      await assert.rejects(
        performStep(w.log, loadRoster(w.log), id, 'room-check', {
          performer: { person: 'carol', key: w.keys.dave },
          witnesses: [me('alice'), me('bob')],
        }),
        refused('BAD_ARGUMENT', /not their key on the roster/),
      );
      assert.equal(w.log.size, size);
    });

    test('participants must hold their roles; an approval step without quorum is refused', async () => {
      await assert.rejects(
        startCeremony(script, w.log, loadRoster(w.log), {
          participants: { ...participants, carol: 'custodian' },
          by: me('carol'),
        }),
        refused('BAD_ARGUMENT', /carol does not hold role custodian/),
      );
      const { id } = await startCeremony(script, w.log, loadRoster(w.log), {
        participants,
        by: me('carol'),
        id: 'root-c',
      });
      await performStep(w.log, loadRoster(w.log), id, 'room-check', {
        performer: me('carol'),
        witnesses: [me('alice'), me('bob')],
      });
      const lonely = createRequest({
        operation: 'generate',
        keyId: 'root-2026',
        requester: 'carol',
        policyDigest: w.policyDigest,
        at: Date.now() - 1000,
      });
      await recordApproval(
        w.log,
        lonely,
        signApproval(lonely, 'alice', 'approve', w.keys.alice, Date.now() - 500),
      );
      await assert.rejects(
        performStep(w.log, loadRoster(w.log), id, 'approve', {
          performer: me('alice'),
          witnesses: [me('carol')],
          request: lonely,
        }),
        refused('QUORUM_NOT_MET', /1 of 2 approvals from custodian/),
      );
    });

    test('exceptions: recorded and continued where allowed, halting where not', async () => {
      const { id } = await startCeremony(script, w.log, loadRoster(w.log), {
        participants,
        by: me('carol'),
        id: 'root-d',
      });
      const x = await recordException(w.log, loadRoster(w.log), id, 'room-check', {
        by: me('carol'),
        deviation: 'seal bag 4471 number not in the last record',
        reason: 'bag replaced after the 2025 audit; replacement record attached',
      });
      assert.equal(x.continues, true);
      const stmt = w.log.statement(x.index) as CeremonyEntry;
      assert.deepEqual([stmt.outcome, stmt.actor, stmt.phase], ['exception', 'carol', 'exception']);
      assert.equal(loadCeremony(w.log, id).next?.step.id, 'approve');
      const halt = await recordException(w.log, loadRoster(w.log), id, 'approve', {
        by: me('alice'),
        deviation: 'the quorum could not be reached today',
        reason: 'bob is ill',
      });
      assert.equal(halt.continues, false);
      await assert.rejects(
        performStep(w.log, loadRoster(w.log), id, 'approve', {
          performer: me('alice'),
          witnesses: [me('carol')],
        }),
        refused('BAD_ARGUMENT', /halted at step approve/),
      );
      const v = verifyCeremony(w.log, id);
      assert.deepEqual([v.ok, v.status], [true, 'halted']);
      const r = ceremonyReport(w.log, id);
      assert.deepEqual(
        r.exceptions.map((e) => [e.step, e.by, e.continued]),
        [
          ['room-check', 'carol', true],
          ['approve', 'alice', false],
        ],
      );
    });

    test('a rewritten log (entry altered, or entry dropped) fails verifyCeremony', async () => {
      const { id } = await startCeremony(script, w.log, loadRoster(w.log), {
        participants,
        by: me('carol'),
        id: 'root-e',
      });
      await performStep(w.log, loadRoster(w.log), id, 'room-check', {
        performer: me('carol'),
        witnesses: [me('alice'), me('bob')],
      });
      const request = await approvedRequest(w.log);
      await performStep(w.log, loadRoster(w.log), id, 'approve', {
        performer: me('alice'),
        witnesses: [me('carol')],
        request,
      });
      assert.ok(verifyCeremony(w.log, id).ok);
      const all: Statement[] = [];
      for (let i = 0; i < w.log.size; i++) all.push(w.log.statement(i));
      const target = all.findIndex(
        (s) => (s as CeremonyEntry).ceremonyId === id && (s as CeremonyEntry).stepId === 'room-check',
      );

      // Whoever holds the log's own key can rebuild a log that verifies as a log, but not people's signatures.
      const altered = await EvidenceLog.open(join(tmp, 'altered'), { create: true });
      await altered.appendBatch(all.map((s, i) => (i === target ? { ...s, note: 'nothing to report' } : s)));
      const bad = verifyCeremony(altered, id);
      altered.close();
      assert.equal(bad.ok, false);
      assert.ok(
        bad.problems.some((p) =>
          /room-check \(log index \d+\): performer carol: the signature does not verify/.test(p),
        ),
        bad.problems.join('\n'),
      );

      // A witness signature stripped from the entry.
      const stripped = await EvidenceLog.open(join(tmp, 'stripped'), { create: true });
      await stripped.appendBatch(
        all.map((s, i) => {
          if (i !== target) return s;
          const { alice: _gone, ...rest } = (s as CeremonyEntry).signatures;
          void _gone;
          return { ...s, signatures: rest } as unknown as Statement;
        }),
      );
      const unsigned = verifyCeremony(stripped, id);
      stripped.close();
      assert.ok(
        unsigned.problems.some((p) => /room-check \(log index \d+\): witness alice: no signature/.test(p)),
        unsigned.problems.join('\n'),
      );

      const dropped = await EvidenceLog.open(join(tmp, 'dropped'), { create: true });
      await dropped.appendBatch(all.filter((_, i) => i !== target));
      const gap = verifyCeremony(dropped, id);
      dropped.close();
      assert.equal(gap.ok, false);
      assert.ok(
        gap.problems.some((p) => /out of order; the next step was room-check/.test(p)),
        gap.problems.join('\n'),
      );
    });

    test('fail closed: when the intent cannot be made durable, the token is never touched', async () => {
      const { id } = await startCeremony(script, w.log, loadRoster(w.log), {
        participants,
        by: me('carol'),
        id: 'root-f',
      });
      await performStep(w.log, loadRoster(w.log), id, 'room-check', {
        performer: me('carol'),
        witnesses: [me('alice'), me('bob')],
      });
      await performStep(w.log, loadRoster(w.log), id, 'approve', {
        performer: me('alice'),
        witnesses: [me('carol')],
        request: await approvedRequest(w.log),
      });
      const failing: GovernLog = {
        get size() {
          return w.log.size;
        },
        statement: (i) => w.log.statement(i),
        append: async () => {
          throw new Error('disk full');
        },
      };
      let touched = 0;
      const spy: Hsm = new Proxy(hsm, {
        get(target, prop) {
          if (prop === 'generateKeyPair' || prop === 'sign') touched++;
          const v = Reflect.get(target, prop) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      await assert.rejects(
        performStep(failing, loadRoster(w.log), id, 'generate-root', {
          performer: me('alice'),
          witnesses: [me('bob'), me('carol')],
          hsm: spy,
        }),
        /disk full/,
      );
      assert.equal(touched, 0);
      assert.equal(loadCeremony(w.log, id).next?.status, 'pending');
    });

    test('resume: a crash after the token generated the key records that key, not a second one', async () => {
      const { id } = await startCeremony(script, w.log, loadRoster(w.log), {
        participants,
        by: me('carol'),
        id: 'root-g',
      });
      await performStep(w.log, loadRoster(w.log), id, 'room-check', {
        performer: me('carol'),
        witnesses: [me('alice'), me('bob')],
      });
      await performStep(w.log, loadRoster(w.log), id, 'approve', {
        performer: me('alice'),
        witnesses: [me('carol')],
        request: await approvedRequest(w.log),
      });
      const crashing: Hsm = new Proxy(hsm, {
        get(target, prop) {
          if (prop === 'generateKeyPair')
            return async (...a: Parameters<Hsm['generateKeyPair']>) => {
              await target.generateKeyPair(...a);
              throw new Error('power lost');
            };
          const v = Reflect.get(target, prop) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const signers = { performer: me('alice'), witnesses: [me('bob'), me('carol')] };
      await assert.rejects(
        performStep(w.log, loadRoster(w.log), id, 'generate-root', { ...signers, hsm: crashing }),
        /power lost/,
      );
      const mid = loadCeremony(w.log, id);
      assert.equal(mid.next?.status, 'intent');
      const plannedId = mid.next!.intent!.entry.hsm!.id;
      const again = await performStep(w.log, loadRoster(w.log), id, 'generate-root', { ...signers, hsm });
      assert.equal(again.hsm?.recovered, true);
      assert.equal(again.hsm?.id, plannedId);
      assert.equal(again.intentIndex, mid.next!.intent!.index);
      const keys = hsm
        .objects()
        .filter((o) => o.class === 3 && Buffer.from(o.id ?? []).toString('hex') === plannedId);
      assert.equal(keys.length, 1);
      assert.ok(verifyCeremony(w.log, id).ok);
    });
  },
);

describe('ceremony scripts are validated strictly', () => {
  const bad = (text: string, re: RegExp): void =>
    assert.throws(
      () => parseCeremonyScript(text, 'bad.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof GovernError);
        assert.equal(e.code, 'POLICY_INVALID');
        assert.match(e.message, re);
        return true;
      },
    );

  test('the demo script in docs/ceremonies parses', () => {
    const demo = loadCeremonyScript(
      fileURLToPath(new URL('../../../../docs/ceremonies/root-ca-key-generation.yaml', import.meta.url)),
    );
    assert.deepEqual(demo.document.roles, { custodian: 2, auditor: 1 });
    assert.ok(demo.document.steps.some((s) => s.action === 'hsm-generate'));
  });

  test('the demo-style script parses and its digest is stable', () => {
    const a = parseCeremonyScript(ROOT_SCRIPT, 'a.yaml');
    assert.equal(a.document.steps.length, 5);
    assert.equal(a.digest, parseCeremonyScript(ROOT_SCRIPT, 'b.yaml').digest);
  });

  test('unknown fields, unknown roles, impossible witnesses, bad references are refused with file and line', () => {
    bad(
      ROOT_SCRIPT.replace('purpose:', 'porpose: x\npurpose:'),
      /^bad\.yaml:4: porpose is not a known field/,
    );
    bad(
      ROOT_SCRIPT.replace(
        'role: auditor\n    witnesses: { custodian: 2 }',
        'role: notary\n    witnesses: { custodian: 2 }',
      ),
      /bad\.yaml:\d+: steps\.0\.role "notary" is not one of the script's roles/,
    );
    bad(
      ROOT_SCRIPT.replace('witnesses: { custodian: 1, auditor: 1 }', 'witnesses: { custodian: 2 }'),
      /needs 2 witnesses of role custodian, but the script has only 1 besides the performer/,
    );
    bad(
      ROOT_SCRIPT.replace('signWith: generate-root', 'signWith: record-notes'),
      /steps\.3\.signWith "record-notes" is not an earlier hsm-generate step/,
    );
    bad(
      ROOT_SCRIPT.replace('mechanism: ecdsa-sha384', 'mechanism: rsa-pss-sha256'),
      /rsa-pss-sha256 cannot be used with a ec-p384 key/,
    );
    bad(
      ROOT_SCRIPT.replace('    operation: generate\n', ''),
      /steps\.1\.operation is required for a approval step/,
    );
    bad(
      ROOT_SCRIPT.replace('action: manual', 'action: manual\n    key: { spec: ec-p256, label: x }'),
      /steps\.0\.key does not apply to a manual step/,
    );
    bad(
      ROOT_SCRIPT.replace('kind: keywarden/ceremony-script', 'kind: other'),
      /kind must be "keywarden\/ceremony-script"/,
    );
    bad('a: &x [1]\nb: *x\n', /bad\.yaml/);
    bad('x'.repeat(30_000), /larger than/);
  });
});

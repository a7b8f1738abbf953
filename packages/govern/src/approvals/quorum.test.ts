import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EvidenceLog } from '@keywarden/evidence';
import { toolsMissing } from '@keywarden/testkit';
import type { KeyObject } from 'node:crypto';
import { GovernError } from '../error.ts';
import { parseQuorumPolicy, type QuorumPolicy } from '../policy/quorum-policy.ts';
import { addPerson, grantRole, loadRoster, revokeRole, rosterAt } from '../roster/changes.ts';
import { leave } from '../roster/leaver.ts';
import { readPrivateKey, signApproval, type SignedApproval } from './approval.ts';
import { evaluateQuorum, requireQuorum } from './evaluate.ts';
import { auditApprovals, quorumFromLog, recordApproval, recordPolicy, replay } from './log-records.ts';
import { createRequest, requestDigest, type ApprovalRequest } from './request.ts';

const H = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const PEOPLE = [
  { id: 'alice', email: 'alice@example.com' },
  { id: 'bob', email: 'bob@example.com' },
  { id: 'carol', email: 'carol@example.com' },
  { id: 'dave', email: 'dave@contractor.test' },
];

const POLICY = (version: number, count = 2) => `kind: keywarden/quorum-policy
version: ${version}
rules:
  - id: release-signing
    operations: [sign]
    keys: ["fw-release-*"]
    approvals:
      count: ${count}
      role: release-custodian
      within: 24h
      condition: 'approver.email.endsWith("@example.com")'
  - id: root-custody
    operations: [sign, destroy]
    keys: [root-2026]
    approvals: { count: 2, role: custodian, within: 24h }
  - id: hsm-custody
    operations: [destroy]
    keys: [hsm-master]
    approvals: { count: 2, role: hsm-custodian, within: 24h }
  - id: policy-change
    operations: [policy-change]
    approvals: { count: 2, role: hsm-custodian, within: 24h }
`;

describe('roster and M-of-N approvals on a real evidence log', { skip: toolsMissing('openssl') }, () => {
  let dir: string;
  const keys = new Map<string, KeyObject>();
  const pubs = new Map<string, string>();
  let policy: QuorumPolicy;
  let n = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-govern-'));
    for (const p of PEOPLE) {
      const key = join(dir, `${p.id}.key`);
      execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key], { stdio: 'ignore' });
      const pub = execFileSync('openssl', ['pkey', '-in', key, '-pubout'], { encoding: 'utf8' });
      keys.set(p.id, readPrivateKey(key));
      pubs.set(p.id, pub);
    }
    policy = parseQuorumPolicy(POLICY(1), 'quorum.yaml');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh log with the four people, their roles from a day before T0, and policy version 1. */
  async function estate(): Promise<EvidenceLog> {
    const log = await EvidenceLog.open(join(dir, `log-${n++}`), { create: true });
    const ctx = { actor: 'admin', at: T0 - 24 * H };
    for (const p of PEOPLE)
      await addPerson(
        log,
        { id: p.id, name: p.id.toUpperCase(), email: p.email, publicKey: pubs.get(p.id)! },
        ctx,
      );
    for (const p of PEOPLE)
      await grantRole(log, { person: p.id, role: 'release-custodian', scope: 'fw-release-*' }, ctx);
    for (const p of ['bob', 'carol', 'dave'])
      await grantRole(log, { person: p, role: 'custodian', scope: 'root-2026' }, ctx);
    for (const p of ['bob', 'carol']) await grantRole(log, { person: p, role: 'hsm-custodian' }, ctx);
    await recordPolicy(log, policy, { actor: 'admin', at: T0 - 24 * H });
    return log;
  }

  const signRequest = (
    p: QuorumPolicy,
    keyId = 'fw-release-7',
    operation: ApprovalRequest['operation'] = 'sign',
    parameters = {},
  ) => createRequest({ operation, keyId, requester: 'alice', policyDigest: p.digest, parameters, at: T0 });

  async function approve(
    log: EvidenceLog,
    r: ApprovalRequest,
    who: string,
    at: number,
    decision: 'approve' | 'reject' = 'approve',
  ): Promise<SignedApproval> {
    const a = signApproval(r, who, decision, keys.get(who)!, at);
    await recordApproval(log, r, a);
    return a;
  }

  const codes = (res: ReturnType<typeof evaluateQuorum>, who: string) =>
    res.approvals.filter((a) => a.approver === who).flatMap((a) => a.reasons.map((x) => x.code));

  test('2 of 3 release custodians meet the quorum; the gate lets the operation through', async () => {
    const log = await estate();
    const r = signRequest(policy);
    const approvals = [await approve(log, r, 'bob', T0 + H), await approve(log, r, 'carol', T0 + 2 * H)];
    const roster = loadRoster(log);
    const res = requireQuorum(r, approvals, roster, policy, T0 + 3 * H);
    assert.equal(res.met, true);
    assert.deepEqual(res.rules[0]!.counted, ['bob', 'carol']);
    assert.equal(quorumFromLog(log, r, T0 + 3 * H).met, true);
    // One approval alone is not enough, and the gate fails closed.
    assert.throws(
      () => requireQuorum(r, approvals.slice(0, 1), roster, policy, T0 + 3 * H),
      (e: unknown) =>
        e instanceof GovernError && e.code === 'QUORUM_NOT_MET' && /1 of 2 approvals/.test(e.message),
    );
    log.close();
  });

  test('the requester may not approve their own request', async () => {
    const log = await estate();
    const r = signRequest(policy);
    const approvals = [await approve(log, r, 'alice', T0 + H), await approve(log, r, 'bob', T0 + H)];
    const res = evaluateQuorum(r, approvals, loadRoster(log), policy, T0 + 2 * H);
    assert.equal(res.met, false);
    assert.deepEqual(codes(res, 'alice'), ['self-approval']);
    log.close();
  });

  test('an approver who left before approving is refused; the roster at each time says why', async () => {
    const log = await estate();
    const r = signRequest(policy);
    await approve(log, r, 'bob', T0 + H);
    await leave(log, 'carol', policy, { actor: 'admin', at: T0 + 2 * H });
    // Carol still holds her key file and signs after leaving.
    const late = signApproval(r, 'carol', 'approve', keys.get('carol')!, T0 + 3 * H);
    await recordApproval(log, r, late);
    const res = quorumFromLog(log, r, T0 + 4 * H);
    assert.equal(res.met, false);
    assert.deepEqual(codes(res, 'carol'), ['unknown-approver']);
    const { snapshot: then } = rosterAt(log, T0 + H);
    const { snapshot: now } = rosterAt(log, T0 + 3 * H);
    assert.ok(then.people.some((p) => p.id === 'carol' && p.roles.length === 3));
    assert.ok(!now.people.some((p) => p.id === 'carol'));
    log.close();
  });

  test('a role revoked before approving, or scoped to another key, does not count', async () => {
    const log = await estate();
    const r = signRequest(policy);
    await revokeRole(
      log,
      { person: 'carol', role: 'release-custodian', scope: 'fw-release-*' },
      { actor: 'admin', at: T0 + H },
    );
    const approvals = [await approve(log, r, 'bob', T0 + 2 * H), await approve(log, r, 'carol', T0 + 2 * H)];
    const res = evaluateQuorum(r, approvals, loadRoster(log), policy, T0 + 3 * H);
    assert.equal(res.met, false);
    assert.deepEqual(codes(res, 'carol'), ['not-in-role']);
    // custodian is scoped to root-2026: it gives no say over another key.
    const other = signRequest(policy, 'root-2027', 'destroy');
    assert.equal(loadRoster(log).holds('bob', 'custodian', 'root-2027', T0), false);
    assert.equal(evaluateQuorum(other, [], loadRoster(log), policy, T0 + H).met, false);
    log.close();
  });

  test('an approval outside the 24 h window does not count and the request expires', async () => {
    const log = await estate();
    const r = signRequest(policy);
    const approvals = [await approve(log, r, 'bob', T0 + H), await approve(log, r, 'carol', T0 + 25 * H)];
    const res = evaluateQuorum(r, approvals, loadRoster(log), policy, T0 + 26 * H);
    assert.equal(res.met, false);
    assert.deepEqual(codes(res, 'carol'), ['outside-window']);
    assert.ok(res.reasons.some((x) => /expired 24h after/.test(x)));
    log.close();
  });

  test('a tampered approval signature is refused', async () => {
    const log = await estate();
    const r = signRequest(policy);
    const bob = await approve(log, r, 'bob', T0 + H);
    const reject = signApproval(r, 'carol', 'reject', keys.get('carol')!, T0 + H);
    const forged: SignedApproval = { ...reject, payload: { ...reject.payload, decision: 'approve' } };
    const res = evaluateQuorum(r, [bob, forged], loadRoster(log), policy, T0 + 2 * H);
    assert.equal(res.met, false);
    assert.deepEqual(codes(res, 'carol'), ['bad-signature']);
    const honest = evaluateQuorum(r, [bob, reject], loadRoster(log), policy, T0 + 2 * H);
    assert.deepEqual(codes(honest, 'carol'), ['rejected']);
    const twice = evaluateQuorum(r, [bob, { ...bob }], loadRoster(log), policy, T0 + 2 * H);
    assert.deepEqual(codes(twice, 'bob'), ['duplicate-approver']);
    log.close();
  });

  test('a policy changed between request and approval breaks the quorum (hash mismatch)', async () => {
    const log = await estate();
    const r = signRequest(policy);
    await approve(log, r, 'bob', T0 + H);
    const v2 = parseQuorumPolicy(POLICY(2, 3), 'quorum.yaml');
    const change = createRequest({
      operation: 'policy-change',
      keyId: 'quorum-policy',
      requester: 'alice',
      policyDigest: policy.digest,
      parameters: { policyDigest: v2.digest },
      at: T0,
    });
    // Without an approved policy-change request the new policy is refused.
    await assert.rejects(
      recordPolicy(log, v2, { actor: 'alice', at: T0 + 2 * H }),
      (e: unknown) => e instanceof GovernError && e.code === 'QUORUM_NOT_MET',
    );
    await approve(log, change, 'bob', T0 + H);
    await approve(log, change, 'carol', T0 + H);
    await recordPolicy(log, v2, { actor: 'alice', at: T0 + 2 * H, request: change });
    await approve(log, r, 'carol', T0 + 3 * H);
    const res = quorumFromLog(log, r, T0 + 4 * H);
    assert.equal(res.met, false);
    assert.equal(res.policyDigest, v2.digest);
    assert.deepEqual(codes(res, 'carol'), ['wrong-policy-version']);
    assert.ok(res.reasons.some((x) => /made under policy .* the policy in force is/.test(x)));
    log.close();
  });

  test('a CEL condition false for an approver excludes them; true lets them count', async () => {
    const log = await estate();
    const r = signRequest(policy);
    const approvals = [await approve(log, r, 'bob', T0 + H), await approve(log, r, 'dave', T0 + H)];
    const res = evaluateQuorum(r, approvals, loadRoster(log), policy, T0 + 2 * H);
    assert.equal(res.met, false);
    assert.deepEqual(codes(res, 'dave'), ['condition-false']);
    assert.deepEqual(codes(res, 'bob'), []);
    // dave does count where no condition applies: root-custody.
    const root = signRequest(policy, 'root-2026', 'destroy');
    const ok = evaluateQuorum(
      root,
      [
        signApproval(root, 'bob', 'approve', keys.get('bob')!, T0 + H),
        signApproval(root, 'dave', 'approve', keys.get('dave')!, T0 + H),
      ],
      loadRoster(log),
      policy,
      T0 + 2 * H,
    );
    assert.equal(ok.met, true, ok.reasons.join('; '));
    log.close();
  });

  test('a leaver drops a key below its quorum and a re-custody task appears', async () => {
    const log = await estate();
    const res = await leave(log, 'bob', policy, { actor: 'admin', at: T0 }, { keys: ['fw-release-7'] });
    assert.deepEqual(res.revoked.map((x) => x.role).sort(), [
      'custodian',
      'hsm-custodian',
      'release-custodian',
    ]);
    assert.deepEqual(
      res.tasks.map((t) => [t.keyId, t.role, t.missing]),
      [['hsm-master', 'hsm-custodian', 1]],
    );
    assert.ok(
      res.warnings.some((w) => /^root-2026: 2 holders of custodian left, exactly the quorum of 2/.test(w)),
    );
    assert.ok(!res.gaps.some((g) => g.keyId === 'fw-release-7'));
    const roster = loadRoster(log);
    assert.equal(roster.holds('bob', 'custodian', 'root-2026', T0 - H), true);
    assert.equal(roster.holds('bob', 'custodian', 'root-2026', T0 + H), false);
    log.close();
  });

  test('an auditor replaying the reopened log reproduces the verdicts', async () => {
    const log = await estate();
    const good = signRequest(policy, 'fw-release-7', 'sign', { digest: 'abc' });
    const self = signRequest(policy, 'fw-release-8');
    const live = [
      evaluateQuorum(
        good,
        [await approve(log, good, 'bob', T0 + H), await approve(log, good, 'carol', T0 + H)],
        loadRoster(log),
        policy,
        T0 + 2 * H,
      ),
      evaluateQuorum(
        self,
        [await approve(log, self, 'alice', T0 + H), await approve(log, self, 'bob', T0 + H)],
        loadRoster(log),
        policy,
        T0 + 2 * H,
      ),
    ];
    const at = new Date(T0 + 2 * H).toISOString();
    await log.append({
      type: 'key.operation',
      at,
      operation: 'sign',
      keyId: 'fw-release-7',
      requestDigest: requestDigest(good),
    });
    await log.append({
      type: 'key.operation',
      at,
      operation: 'sign',
      keyId: 'fw-release-8',
      requestDigest: requestDigest(self),
    });
    const logDir = log.dir;
    log.close();

    const ro = await EvidenceLog.open(logDir, { readOnly: true });
    const report = auditApprovals(ro);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.operations.map((o) => o.met),
      [true, false],
    );
    for (const [i, v] of live.entries()) {
      const replayed = report.operations[i]!.result!;
      assert.deepEqual({ ...replayed, at: '' }, { ...v, at: '' });
    }
    assert.equal(replay(ro).roster.people.size, 4);
    assert.ok(readFileSync(join(logDir, 'checkpoint'), 'utf8').length > 0);
    ro.close();
  });
});

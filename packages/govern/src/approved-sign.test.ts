/**
 * The end to end: a release key generated on a SoftHSM2 token signs an image only once two
 * release custodians other than the requester have approved, every step is in a real evidence log,
 * the log verifies offline, the auditor's replay agrees, and tampering with the log is caught.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EvidenceLog, parseVkey, verifyLog, VKEY_FILE } from '@keywarden/evidence';
import { softHsmToken, toolsMissing, type SoftHsmToken } from '@keywarden/testkit';
import { readPrivateKey, signApproval } from './approvals/approval.ts';
import { auditApprovals, recordApproval, recordPolicy } from './approvals/log-records.ts';
import { createRequest, type ApprovalRequest } from './approvals/request.ts';
import { signWithApproval } from './approved-sign.ts';
import { GovernError } from './error.ts';
import { GrapheneHsm } from './hsm/graphene-hsm.ts';
import { takeInventory } from './hsm/inventory.ts';
import { parseQuorumPolicy } from './policy/quorum-policy.ts';
import { addPerson, grantRole } from './roster/changes.ts';

/** The first regular file under a directory, depth first in name order. */
function firstFile(dir: string): string {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isFile()) return p;
    if (e.isDirectory()) return firstFile(p);
  }
  throw new Error(`no file under ${dir}`);
}

const PIN_VAR = 'KW_TEST_APPROVED_SIGN_PIN';
const POLICY = `kind: keywarden/quorum-policy
version: 1
rules:
  - id: release-signing
    operations: [sign]
    keys: ["fw-release-*"]
    approvals: { count: 2, role: release-custodian, within: 24h }
`;

describe(
  'approval-gated signing through SoftHSM2',
  { skip: toolsMissing('softhsm2-util', 'openssl') },
  () => {
    let token: SoftHsmToken;
    let dir: string;
    let log: EvidenceLog;
    const hsm = new GrapheneHsm();
    const keys = new Map<string, KeyObject>();
    let keyIdentity = '';
    let spki: KeyObject;
    const image = Buffer.from('firmware image 4.2.0\n'.repeat(100));
    const policy = parseQuorumPolicy(POLICY, 'quorum.yaml');

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kw-approved-sign-'));
      token = softHsmToken({ label: 'kw-release' });
      process.env[PIN_VAR] = token.pin;
      await hsm.open(token.module, { tokenLabel: token.label, pin: { env: PIN_VAR }, readWrite: true });
      await hsm.generateKeyPair({ kind: 'ec', curve: 'P-256' }, { label: 'fw-release-2026', id: 'f1' });
      const priv = takeInventory(hsm, token.module).objects.find((o) => o.class === 'private-key')!;
      keyIdentity = priv.key!.keyId;
      const pub = takeInventory(hsm, token.module).objects.find(
        (o) => o.class === 'public-key' && o.id === 'f1',
      )!;
      spki = createPublicKey({ key: Buffer.from(pub.spki!, 'base64'), format: 'der', type: 'spki' });

      log = await EvidenceLog.open(join(dir, 'log'), { create: true });
      const at = Date.now() - 3_600_000;
      for (const id of ['alice', 'bob', 'carol']) {
        const file = join(dir, `${id}.key`);
        execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', file], { stdio: 'ignore' });
        keys.set(id, readPrivateKey(file));
        const publicKey = execFileSync('openssl', ['pkey', '-in', file, '-pubout'], { encoding: 'utf8' });
        await addPerson(log, { id, name: id, publicKey }, { actor: 'admin', at });
        await grantRole(log, { person: id, role: 'release-custodian' }, { actor: 'admin', at });
      }
      await recordPolicy(log, policy, { actor: 'admin', at });
    });
    after(() => {
      hsm.close();
      log?.close();
      token?.cleanup();
      delete process.env[PIN_VAR];
      rmSync(dir, { recursive: true, force: true });
    });

    const request = (identity: string): ApprovalRequest =>
      createRequest({
        operation: 'sign',
        keyId: 'fw-release-2026',
        parameters: { keyIdentity: identity, artefact: createHash('sha256').update(image).digest('hex') },
        requester: 'alice',
        policyDigest: policy.digest,
      });
    const approve = async (r: ApprovalRequest, who: string): Promise<void> => {
      await recordApproval(log, r, signApproval(r, who, 'approve', keys.get(who)!));
    };
    const sign = (r: ApprovalRequest) =>
      signWithApproval({
        log,
        hsm,
        modulePath: token.module,
        request: r,
        key: { id: 'f1' },
        mechanism: { kind: 'ecdsa', hash: 'sha256', format: 'der' },
        data: image,
        actor: 'alice',
      });

    test('one approval (and the requester approving herself) is not a quorum: nothing is signed', async () => {
      const r = request(keyIdentity);
      await approve(r, 'bob');
      await approve(r, 'alice');
      const size = log.size;
      await assert.rejects(sign(r), (e: unknown) => e instanceof GovernError && e.code === 'QUORUM_NOT_MET');
      assert.equal(log.size, size, 'no key operation was logged');
    });

    test('two custodians approve: the token signs, intent and outcome are logged, the log verifies', async () => {
      const r = request(keyIdentity);
      await approve(r, 'bob');
      await approve(r, 'carol');
      const out = await sign(r);
      assert.equal(out.keyIdentity, keyIdentity);
      assert.ok(
        verify('sha256', image, spki, Buffer.from(out.signature)),
        'the signature verifies with the SPKI',
      );
      const [intent, done] = out.entries;
      assert.equal(log.statement(intent).type, 'key.operation');
      assert.equal(
        (log.statement(done) as { outputDigest?: string }).outputDigest,
        `sha256:${createHash('sha256').update(out.signature).digest('hex')}`,
      );
      const vkey = parseVkey(readFileSync(join(dir, 'log', VKEY_FILE), 'utf8').trim());
      const report = verifyLog(join(dir, 'log'), { vkeys: [vkey] });
      assert.ok(report.ok, JSON.stringify(report.problems));
      const audit = auditApprovals(log);
      assert.ok(audit.ok, JSON.stringify(audit.operations));
      assert.equal(audit.operations.filter((o) => o.type === 'key.operation').length, 2);

      // A copy of the log with one byte of an entry bundle changed no longer verifies.
      const copy = join(dir, 'tampered');
      cpSync(join(dir, 'log'), copy, { recursive: true });
      const bundle = firstFile(join(copy, 'tile', 'entries'));
      const bytes = readFileSync(bundle);
      bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01;
      writeFileSync(bundle, bytes);
      assert.equal(verifyLog(copy, { vkeys: [vkey] }).ok, false);
    });

    test('approvals for another key identity do not let the token key sign', async () => {
      const r = request('00'.repeat(32));
      await approve(r, 'bob');
      await approve(r, 'carol');
      await assert.rejects(sign(r), /the approved key is 0000/);
    });
  },
);

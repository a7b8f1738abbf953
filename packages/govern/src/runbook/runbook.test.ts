import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { toolsMissing } from '@keywarden/testkit';
import { makeWorld, type World } from '../ceremony/fixtures.test-helper.ts';
import { GovernError } from '../error.ts';
import { drillsOf, LEGACY_DRILL_KIND, recordDrill } from './drill.ts';
import { runbookFindings } from './findings.ts';
import { loadRunbook, loadRunbooks, parseRunbook } from './runbook.ts';

const DOCS = fileURLToPath(new URL('../../../../docs/runbooks/', import.meta.url));
const DAY = 86_400_000;

const runbook = (id: string, kind: string, version: number, maxDrillAge = '180d'): string =>
  `---\nid: ${id}\ntitle: ${id} procedure\nkind: ${kind}\nversion: ${version}\nowner: custodian\nmaxDrillAge: ${maxDrillAge}\n---\n# ${id}\n\n1. Do the thing.\n`;

describe('runbooks', () => {
  test('front matter is validated strictly, naming file and line', () => {
    const bad = (text: string, re: RegExp): void =>
      assert.throws(
        () => parseRunbook(text, 'rb.md'),
        (e: unknown) => e instanceof GovernError && e.code === 'POLICY_INVALID' && re.test(e.message),
      );
    bad('# no front matter\n', /^rb\.md:1: a runbook starts with YAML front matter/);
    bad(runbook('a', 'flood', 1), /^rb\.md:4: kind must be one of expiry, compromise/);
    bad(runbook('a', 'expiry', 1, 'yearly'), /^rb\.md:7: maxDrillAge "yearly" is not a duration/);
    bad(
      runbook('a', 'expiry', 1).replace('owner:', 'ownr: x\nowner:'),
      /^rb\.md:6: ownr is not a known field/,
    );
    bad(
      runbook('a', 'expiry', 1).replace('# a\n\n1. Do the thing.\n', '\n'),
      /procedure \(Markdown body\) is empty/,
    );
    const ok = parseRunbook(runbook('a', 'expiry', 2), 'rb.md');
    assert.deepEqual([ok.id, ok.kind, ok.version, ok.maxDrillAgeMs], ['a', 'expiry', 2, 180 * DAY]);
  });

  test('the runbooks shipped in docs/runbooks parse', () => {
    const all = loadRunbooks(DOCS);
    assert.ok(all.length >= 2);
    assert.ok(all.some((r) => r.kind === 'compromise'));
  });

  describe('findings from the log', { skip: toolsMissing('openssl') }, () => {
    let tmp: string;
    let w: World;
    const now = Date.now();
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'kw-runbook-'));
      w = await makeWorld(tmp, now - 500 * DAY);
    });
    after(() => {
      w?.log.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    test('missing, never exercised, stale, drilled at an older version, last drill failed', async () => {
      const dir = join(tmp, 'runbooks');
      mkdirSync(dir);
      writeFileSync(join(dir, 'expiry.md'), runbook('cert-expiry', 'expiry', 1));
      writeFileSync(join(dir, 'compromise.md'), runbook('key-compromise', 'compromise', 1));
      writeFileSync(join(dir, 'custodian.md'), runbook('custodian-gone', 'custodian-unavailable', 1));
      const expiry = loadRunbook(join(dir, 'expiry.md'));
      const compromise = loadRunbook(join(dir, 'compromise.md'));
      // Drilled 400 days ago: stale against 180d. Drilled at version 1 a week ago, then revised to 2.
      await recordDrill(w.log, expiry, {
        actor: 'alice',
        participants: ['alice', 'carol'],
        result: 'passed',
        at: now - 400 * DAY + 120_000,
      });
      await recordDrill(w.log, compromise, {
        actor: 'bob',
        participants: ['bob', 'carol'],
        result: 'failed',
        at: now - 7 * DAY,
      });
      writeFileSync(join(dir, 'compromise.md'), runbook('key-compromise', 'compromise', 2));

      const f = runbookFindings(
        dir,
        w.log,
        { required: ['expiry', 'compromise', 'custodian-unavailable', 'hsm-end-of-support'] },
        now,
      );
      const got = f.map((x) => `${x.rule} ${x.subject}`).sort();
      assert.deepEqual(got, [
        'KW-RUNBOOK-DRILL-OUTDATED key-compromise',
        'KW-RUNBOOK-LAST-DRILL-FAILED key-compromise',
        'KW-RUNBOOK-MISSING runbook-kind:hsm-end-of-support',
        'KW-RUNBOOK-NEVER-EXERCISED custodian-gone',
        'KW-RUNBOOK-STALE cert-expiry',
      ]);
      assert.match(
        f.find((x) => x.rule === 'KW-RUNBOOK-STALE')!.message,
        /last exercised 399 days ago; at most 180 days/,
      );

      // A passing drill of the current text clears the compromise findings; judged before it, they stay.
      const current = loadRunbook(join(dir, 'compromise.md'));
      await recordDrill(w.log, current, {
        actor: 'bob',
        participants: ['bob', 'alice'],
        result: 'passed',
        at: now - DAY,
      });
      const later = runbookFindings(dir, w.log, { required: ['compromise'] }, now).map(
        (x) => `${x.rule} ${x.subject}`,
      );
      assert.deepEqual(later.sort(), [
        'KW-RUNBOOK-NEVER-EXERCISED custodian-gone',
        'KW-RUNBOOK-STALE cert-expiry',
      ]);
      const before = runbookFindings(dir, w.log, { required: [] }, now - 2 * DAY).map((x) => x.rule);
      assert.ok(before.includes('KW-RUNBOOK-LAST-DRILL-FAILED'));
      // The policy ceiling is stricter than the runbook's own 180d.
      assert.ok(
        runbookFindings(dir, w.log, { required: [], maxDrillAge: '12h' }, now).some(
          (x) => x.rule === 'KW-RUNBOOK-STALE' && x.subject === 'key-compromise',
        ),
      );
      assert.equal(drillsOf(w.log).get('key-compromise')?.length, 2);
      assert.equal(w.log.statement(w.log.size - 1).type, 'runbook.drill');
    });

    test('drills logged as ceremony.step by earlier versions still count', async () => {
      const legacy = {
        type: 'ceremony.step',
        kind: LEGACY_DRILL_KIND,
        at: new Date(now - 3 * DAY).toISOString(),
        actor: 'alice',
        ceremonyId: 'drill-legacy',
        step: 0,
        name: 'legacy procedure',
        outcome: 'done',
        runbookId: 'legacy',
        runbookVersion: 1,
        versionDigest: `sha256:${'ab'.repeat(32)}`,
        participants: ['alice'],
        result: 'passed',
      } as const;
      await w.log.append(legacy);
      assert.deepEqual(
        drillsOf(w.log)
          .get('legacy')
          ?.map((d) => [d.version, d.result]),
        [[1, 'passed']],
      );
    });

    test('a drill with someone not on the roster is refused', async () => {
      const rb = parseRunbook(runbook('x', 'other', 1), 'x.md');
      await assert.rejects(
        recordDrill(w.log, rb, { actor: 'alice', participants: ['mallory'], result: 'passed' }),
        /drill participant mallory is not on the roster/,
      );
    });
  });
});

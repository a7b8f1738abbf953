import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { EvidenceLog } from '@keywarden/evidence';
import { readPrivateKey } from '../approvals/approval.ts';
import { parseQuorumPolicy } from '../policy/quorum-policy.ts';
import { recordPolicy } from '../approvals/log-records.ts';
import { addPerson, grantRole } from '../roster/changes.ts';

export const PEOPLE = {
  alice: 'custodian',
  bob: 'custodian',
  carol: 'auditor',
  dave: 'custodian',
} as const;
export type PersonId = keyof typeof PEOPLE;

export const POLICY = `kind: keywarden/quorum-policy
version: 1
rules:
  - id: root-generate
    operations: [generate, sign]
    keys: [root-2026]
    approvals: { count: 2, role: custodian, within: 24h }
`;

/** A root-key ceremony as a CA would run it: room check, approval, generation, signing, records. */
export const ROOT_SCRIPT = `kind: keywarden/ceremony-script
name: root-ca-2026
version: 1
purpose: Generate the 2026 offline root CA key on the HSM and sign its to-be-signed certificate.
keyId: root-2026
roles:
  custodian: 2
  auditor: 1
steps:
  - id: room-check
    title: Verify the room, the HSM seals and everyone's identity
    role: auditor
    witnesses: { custodian: 2 }
    action: manual
    allowExceptions: true
    instructions: Compare the tamper-evident bag numbers with the last ceremony's record.
  - id: approve
    title: Confirm the generate request has its quorum
    role: custodian
    witnesses: { auditor: 1 }
    action: approval
    operation: generate
  - id: generate-root
    title: Generate the root key pair on the token
    role: custodian
    witnesses: { custodian: 1, auditor: 1 }
    action: hsm-generate
    key: { spec: ec-p384, label: root-2026 }
  - id: sign-tbs
    title: Sign the to-be-signed root certificate
    role: custodian
    witnesses: { auditor: 1 }
    action: hsm-sign
    signWith: generate-root
    mechanism: ecdsa-sha384
    input: root.tbs
    output: root.sig
  - id: record-notes
    title: Hash the signed ceremony worksheet
    role: auditor
    witnesses: { custodian: 1 }
    action: hash-artefact
    artefacts: [worksheet.pdf]
`;

export interface World {
  dir: string;
  log: EvidenceLog;
  keys: Record<PersonId, KeyObject>;
  keyFiles: Record<PersonId, string>;
  policyDigest: `sha256:${string}`;
}

/** People with Ed25519 keys made by openssl, on the roster with their roles, and the quorum policy. */
export async function makeWorld(dir: string, since = Date.now() - 60_000, logName = 'log'): Promise<World> {
  const log = await EvidenceLog.open(join(dir, logName), {
    create: true,
    origin: 'example.com/ceremony-test',
  });
  const keys = {} as Record<PersonId, KeyObject>;
  const keyFiles = {} as Record<PersonId, string>;
  const at = since;
  for (const [id, role] of Object.entries(PEOPLE) as [PersonId, string][]) {
    const file = join(dir, `${id}.pem`);
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', file], { stdio: 'ignore' });
    const pub = execFileSync('openssl', ['pkey', '-in', file, '-pubout'], { encoding: 'utf8' });
    keys[id] = readPrivateKey(file);
    keyFiles[id] = file;
    await addPerson(
      log,
      { id, name: `${id[0]!.toUpperCase()}${id.slice(1)} Example`, publicKey: pub },
      { actor: 'admin', at },
    );
    await grantRole(log, { person: id, role }, { actor: 'admin', at });
  }
  const policy = parseQuorumPolicy(POLICY, 'policy.yaml');
  await recordPolicy(log, policy, { actor: 'admin', at });
  return { dir, log, keys, keyFiles, policyDigest: policy.digest };
}

export const read = (f: string): Buffer => readFileSync(f);

import { readFileSync } from 'node:fs';
import { GovernError } from '../error.ts';
import { digestOf, type Digest } from '../policy/canonical.ts';
import { isOperation, OPERATIONS, type Operation } from '../policy/operations.ts';
import type { HashName, KeyPairSpec, SignMechanism } from '../hsm/hsm.ts';
import { StrictYaml, type Path } from './yaml-reader.ts';

export const SCRIPT_KIND = 'keywarden/ceremony-script';
/** The whole script travels inside the start entry (< 64 KiB), so an auditor needs nothing else. */
export const MAX_SCRIPT_BYTES = 24 * 1024;
const MAX_STEPS = 64;
const MAX_ROLES = 16;
const MAX_PER_ROLE = 16;
const MAX_ARTEFACTS = 16;

export const ACTIONS = ['manual', 'hsm-generate', 'hsm-sign', 'hash-artefact', 'approval'] as const;
export type ActionType = (typeof ACTIONS)[number];

export const MECHANISMS = [
  'ecdsa-sha256',
  'ecdsa-sha384',
  'ecdsa-sha512',
  'rsa-pkcs1-sha256',
  'rsa-pkcs1-sha384',
  'rsa-pkcs1-sha512',
  'rsa-pss-sha256',
  'rsa-pss-sha384',
  'rsa-pss-sha512',
  'eddsa',
] as const;
export type MechanismName = (typeof MECHANISMS)[number];

const KEY_SPECS = ['ec-p256', 'ec-p384', 'ec-p521', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
export type KeySpecName = (typeof KEY_SPECS)[number];

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ROLE = /^[a-z][a-z0-9-]{0,63}$/;
const ARTEFACT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const HEX_ID = /^([0-9a-f]{2}){1,32}$/;
const LABEL = /^[\x20-\x7e]{1,64}$/;

/** One step as written, with defaults filled in: this is what the script digest covers. */
export interface CeremonyStepDoc {
  id: string;
  title: string;
  /** The role of the person who performs the step. */
  role: string;
  /** Witnesses required, by role: each signs the step entry beside the performer. */
  witnesses: Record<string, number>;
  action: ActionType;
  /** What the performer attests to (shown in the report, signed as part of the entry). */
  instructions?: string;
  /** A deviation on this step may be recorded and the ceremony continue past it. */
  allowExceptions: boolean;
  /** Artefacts (by name) whose SHA-256 the step must record. */
  artefacts: string[];
  /** hsm-generate: the key to create (label and CKA_ID on the token). */
  key?: { spec: KeySpecName; label: string; id?: string };
  /** hsm-sign: the step whose generated key signs, the mechanism, the artefact to sign and the output name. */
  signWith?: string;
  mechanism?: MechanismName;
  input?: string;
  output?: string;
  /** approval: the operation whose quorum (from the approvals in the log) the step needs. */
  operation?: Operation;
}

export interface CeremonyScriptDoc {
  kind: typeof SCRIPT_KIND;
  name: string;
  version: number;
  purpose: string;
  /** The key the ceremony is for: role grants scoped to other keys do not count. */
  keyId?: string;
  roles: Record<string, number>;
  steps: CeremonyStepDoc[];
}

export interface CeremonyScript {
  document: CeremonyScriptDoc;
  /** SHA-256 of the canonical JSON of the document: the script version the ceremony ran. */
  digest: Digest;
}

/** Parses and validates a ceremony script; every problem names the file, the line and the field. */
export function parseCeremonyScript(text: string, file = 'ceremony script'): CeremonyScript {
  const r = StrictYaml.parse(text, file, MAX_SCRIPT_BYTES);
  const top = r.object(r.value, [], ['kind', 'name', 'version', 'purpose', 'keyId', 'roles', 'steps']);
  if (top.kind !== SCRIPT_KIND) r.fail(['kind'], `must be "${SCRIPT_KIND}"`);
  const name = r.string(top.name, ['name'], { re: ID });
  const version = r.int(top.version, ['version'], 1, 1_000_000);
  const purpose = r.string(top.purpose, ['purpose'], { max: 2000 });
  const keyId = r.optionalString(top.keyId, ['keyId'], { re: /^[A-Za-z0-9._:/@+-]{1,200}$/ });
  const rolesRaw = r.object(top.roles, ['roles'], Object.keys(top.roles ?? {}));
  const roles: Record<string, number> = {};
  const roleNames = Object.keys(rolesRaw);
  if (roleNames.length === 0) r.fail(['roles'], 'must name at least one role');
  if (roleNames.length > MAX_ROLES) r.fail(['roles'], `names more than ${MAX_ROLES} roles`);
  for (const role of roleNames) {
    if (!ROLE.test(role)) r.fail(['roles', role], `role "${role}" must match ${ROLE.source}`);
    roles[role] = r.int(rolesRaw[role], ['roles', role], 1, MAX_PER_ROLE);
  }
  const ids = new Set<string>();
  const rawSteps = r.list(top.steps, ['steps'], MAX_STEPS);
  const steps: CeremonyStepDoc[] = [];
  for (let i = 0; i < rawSteps.length; i++)
    steps.push(readStep(r, rawSteps[i], ['steps', i], roles, ids, steps));
  const document: CeremonyScriptDoc = {
    kind: SCRIPT_KIND,
    name,
    version,
    purpose,
    ...(keyId !== undefined && { keyId }),
    roles,
    steps,
  };
  return { document, digest: digestOf(document) };
}

const STEP_FIELDS = [
  'id',
  'title',
  'role',
  'witnesses',
  'action',
  'instructions',
  'allowExceptions',
  'artefacts',
  'key',
  'signWith',
  'mechanism',
  'input',
  'output',
  'operation',
];

const ACTION_FIELDS: Record<ActionType, string[]> = {
  manual: [],
  'hash-artefact': [],
  'hsm-generate': ['key'],
  'hsm-sign': ['signWith', 'mechanism', 'input', 'output'],
  approval: ['operation'],
};

function readStep(
  r: StrictYaml,
  v: unknown,
  path: Path,
  roles: Record<string, number>,
  ids: Set<string>,
  earlier: readonly CeremonyStepDoc[],
): CeremonyStepDoc {
  const o = r.object(v, path, STEP_FIELDS);
  const id = r.string(o.id, [...path, 'id'], { re: ID });
  if (ids.has(id)) r.fail([...path, 'id'], `"${id}" is used by an earlier step`);
  if (id === 'start') r.fail([...path, 'id'], '"start" is reserved for the opening entry');
  ids.add(id);
  const title = r.string(o.title, [...path, 'title'], { max: 300 });
  const role = r.string(o.role, [...path, 'role'], { re: ROLE });
  if (!(role in roles)) r.fail([...path, 'role'], `"${role}" is not one of the script's roles`);
  const action = r.oneOf(o.action, [...path, 'action'], ACTIONS);
  for (const f of ['key', 'signWith', 'mechanism', 'input', 'output', 'operation'])
    if (o[f] !== undefined && !ACTION_FIELDS[action].includes(f))
      r.fail([...path, f], `does not apply to a ${action} step`);
  for (const f of ACTION_FIELDS[action])
    if (o[f] === undefined) r.fail([...path, f], `is required for a ${action} step`);

  const witnesses: Record<string, number> = {};
  if (o.witnesses !== undefined) {
    const w = r.object(o.witnesses, [...path, 'witnesses'], Object.keys(roles));
    for (const [wr, n] of Object.entries(w)) {
      witnesses[wr] = r.int(n, [...path, 'witnesses', wr], 1, MAX_PER_ROLE);
      // The performer cannot witness their own step, so the role must have people to spare.
      const available = roles[wr]! - (wr === role ? 1 : 0);
      if (witnesses[wr]! > available)
        r.fail(
          [...path, 'witnesses', wr],
          `needs ${witnesses[wr]} witnesses of role ${wr}, but the script has only ${available} besides the performer`,
        );
    }
  }
  const artefacts =
    o.artefacts === undefined
      ? []
      : r
          .list(o.artefacts, [...path, 'artefacts'], MAX_ARTEFACTS, 0)
          .map((a, j) => r.string(a, [...path, 'artefacts', j], { re: ARTEFACT }));
  if (new Set(artefacts).size !== artefacts.length) r.fail([...path, 'artefacts'], 'names an artefact twice');
  if (action === 'hash-artefact' && artefacts.length === 0)
    r.fail([...path, 'artefacts'], 'a hash-artefact step names the artefacts it hashes');

  const step: CeremonyStepDoc = {
    id,
    title,
    role,
    witnesses,
    action,
    allowExceptions: r.bool(o.allowExceptions, [...path, 'allowExceptions']) ?? false,
    artefacts,
  };
  const instructions = r.optionalString(o.instructions, [...path, 'instructions'], { max: 4000 });
  if (instructions !== undefined) step.instructions = instructions;

  if (action === 'hsm-generate') {
    const k = r.object(o.key, [...path, 'key'], ['spec', 'label', 'id']);
    step.key = {
      spec: r.oneOf(k.spec, [...path, 'key', 'spec'], KEY_SPECS),
      label: r.string(k.label, [...path, 'key', 'label'], { re: LABEL }),
    };
    const kid = r.optionalString(k.id, [...path, 'key', 'id'], { re: HEX_ID });
    if (kid !== undefined) step.key.id = kid;
  }
  if (action === 'hsm-sign') {
    const from = r.string(o.signWith, [...path, 'signWith'], { re: ID });
    const gen = earlier.find((s) => s.id === from);
    if (!gen || gen.action !== 'hsm-generate')
      r.fail([...path, 'signWith'], `"${from}" is not an earlier hsm-generate step`);
    step.signWith = from;
    step.mechanism = r.oneOf(o.mechanism, [...path, 'mechanism'], MECHANISMS);
    if (!mechanismFits(gen.key!.spec, step.mechanism))
      r.fail([...path, 'mechanism'], `${step.mechanism} cannot be used with a ${gen.key!.spec} key`);
    step.input = r.string(o.input, [...path, 'input'], { re: ARTEFACT });
    step.output = r.string(o.output, [...path, 'output'], { re: ARTEFACT });
    if (step.input === step.output) r.fail([...path, 'output'], 'must differ from the input artefact');
  }
  if (action === 'approval') {
    if (!isOperation(o.operation)) r.fail([...path, 'operation'], `must be one of ${OPERATIONS.join(', ')}`);
    step.operation = o.operation;
  }
  return step;
}

function mechanismFits(spec: KeySpecName, m: MechanismName): boolean {
  if (spec.startsWith('ec-')) return m.startsWith('ecdsa-');
  if (spec.startsWith('rsa-')) return m.startsWith('rsa-');
  return m === 'eddsa';
}

export function loadCeremonyScript(file: string): CeremonyScript {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GovernError(
      'POLICY_INVALID',
      `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseCeremonyScript(text, file);
}

/** Rebuilds a script from the document a start entry carries, with the same strict checks. */
export function scriptFromDocument(doc: unknown, where: string): CeremonyScript {
  return parseCeremonyScript(JSON.stringify(doc), where);
}

export function keyPairSpec(name: KeySpecName): KeyPairSpec {
  switch (name) {
    case 'ec-p256':
      return { kind: 'ec', curve: 'P-256' };
    case 'ec-p384':
      return { kind: 'ec', curve: 'P-384' };
    case 'ec-p521':
      return { kind: 'ec', curve: 'P-521' };
    case 'rsa-2048':
      return { kind: 'rsa', bits: 2048 };
    case 'rsa-3072':
      return { kind: 'rsa', bits: 3072 };
    case 'rsa-4096':
      return { kind: 'rsa', bits: 4096 };
    case 'ed25519':
      return { kind: 'ed25519' };
  }
}

/** The adapter's mechanism for a script name; ECDSA output is DER (X9.62), as certificates carry it. */
export function signMechanism(name: MechanismName): SignMechanism {
  if (name === 'eddsa') return { kind: 'eddsa' };
  const [family, ...rest] = name.split('-');
  const hash = rest[rest.length - 1] as HashName;
  if (family === 'ecdsa') return { kind: 'ecdsa', hash, format: 'der' };
  return rest[0] === 'pss' ? { kind: 'rsa-pss', hash } : { kind: 'rsa-pkcs1', hash };
}

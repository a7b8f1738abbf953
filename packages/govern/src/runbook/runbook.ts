import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StrictYaml } from '../ceremony/yaml-reader.ts';
import { GovernError } from '../error.ts';
import { sha256Digest, type Digest } from '../policy/canonical.ts';
import { parseDuration } from '../policy/duration.ts';

export const RUNBOOK_KINDS = [
  'expiry',
  'compromise',
  'custodian-unavailable',
  'hsm-end-of-support',
  'other',
] as const;
export type RunbookKind = (typeof RUNBOOK_KINDS)[number];

const MAX_RUNBOOK_BYTES = 256 * 1024;
const MAX_FRONT_MATTER = 8 * 1024;
const MAX_RUNBOOKS = 500;
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ROLE = /^[a-z][a-z0-9-]{0,63}$/;

export interface Runbook {
  id: string;
  title: string;
  kind: RunbookKind;
  version: number;
  /** The role that owns the procedure and runs its drills. */
  owner: string;
  /** Longest allowed time between drills, as written ("180d"), and in milliseconds. */
  maxDrillAge: string;
  maxDrillAgeMs: number;
  /** SHA-256 of the file's bytes: a drill names exactly the text that was exercised. */
  digest: Digest;
  file: string;
  body: string;
}

/** A runbook: YAML front matter between `---` lines, then the Markdown procedure. */
export function parseRunbook(text: string, file = 'runbook'): Runbook {
  if (Buffer.byteLength(text) > MAX_RUNBOOK_BYTES)
    throw new GovernError('POLICY_INVALID', `${file}: larger than ${MAX_RUNBOOK_BYTES} bytes`);
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n([\s\S]*)$/.exec(text);
  if (!m)
    throw new GovernError(
      'POLICY_INVALID',
      `${file}:1: a runbook starts with YAML front matter between --- lines`,
    );
  const [, front, body] = m as unknown as [string, string, string];
  // Line numbers in errors count from the file's first line, past the opening ---.
  const r: StrictYaml = StrictYaml.parse(front, file, MAX_FRONT_MATTER, 1);
  const o = r.object(r.value, [], ['id', 'title', 'kind', 'version', 'owner', 'maxDrillAge']);
  const id = r.string(o.id, ['id'], { re: ID });
  const title = r.string(o.title, ['title'], { max: 300 });
  const kind = r.oneOf(o.kind, ['kind'], RUNBOOK_KINDS);
  const version = r.int(o.version, ['version'], 1, 1_000_000);
  const owner = r.string(o.owner, ['owner'], { re: ROLE });
  const maxDrillAge = r.string(o.maxDrillAge, ['maxDrillAge'], { max: 16 });
  const maxDrillAgeMs = parseDuration(maxDrillAge);
  if (maxDrillAgeMs === undefined) r.fail(['maxDrillAge'], `"${maxDrillAge}" is not a duration like 90d`);
  if (body.trim() === '')
    throw new GovernError('POLICY_INVALID', `${file}: the procedure (Markdown body) is empty`);
  return {
    id,
    title,
    kind,
    version,
    owner,
    maxDrillAge,
    maxDrillAgeMs,
    digest: sha256Digest(text),
    file,
    body,
  };
}

export function loadRunbook(file: string): Runbook {
  let text: string;
  try {
    if (statSync(file).size > MAX_RUNBOOK_BYTES)
      throw new GovernError('POLICY_INVALID', `${file}: larger than ${MAX_RUNBOOK_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof GovernError) throw err;
    throw new GovernError(
      'POLICY_INVALID',
      `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseRunbook(text, file);
}

/** Every `*.md` runbook in a directory (not recursive), by id; two files with one id are refused. */
export function loadRunbooks(dir: string): Runbook[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.md') && n.toLowerCase() !== 'readme.md');
  } catch (err) {
    throw new GovernError(
      'BAD_ARGUMENT',
      `${dir}: cannot list runbooks (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (names.length > MAX_RUNBOOKS)
    throw new GovernError('POLICY_INVALID', `${dir}: more than ${MAX_RUNBOOKS} runbooks`);
  const byId = new Map<string, Runbook>();
  for (const n of names.sort()) {
    const rb = loadRunbook(join(dir, n));
    const other = byId.get(rb.id);
    if (other)
      throw new GovernError('POLICY_INVALID', `${rb.file}: id ${rb.id} is also used by ${other.file}`);
    byId.set(rb.id, rb);
  }
  return [...byId.values()];
}

import { opendir, stat, lstat } from 'node:fs/promises';
import { join } from 'node:path';

export type WalkEntry =
  | { readonly kind: 'file'; readonly path: string; readonly size: number; readonly mode: number }
  | { readonly kind: 'refused' | 'unreadable'; readonly path: string; readonly reason: string };

export interface WalkOptions {
  /** Files larger than this are refused with a recorded reason. */
  readonly maxFileBytes: number;
}

function special(s: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string | undefined {
  if (s.isFIFO()) return 'FIFO refused: reading it could block the scan';
  if (s.isSocket()) return 'socket refused';
  if (s.isCharacterDevice()) return 'character device refused';
  if (s.isBlockDevice()) return 'block device refused';
  return undefined;
}

/**
 * Depth-first walk that follows symbolic links but visits each directory (by device and inode) once,
 * so link loops end with a refusal instead of recursion without end. Errors become entries.
 */
export async function* walk(roots: readonly string[], opts: WalkOptions): AsyncGenerator<WalkEntry> {
  const seenDirs = new Set<string>();
  for (const root of roots) yield* visit(root, opts, seenDirs);
}

async function* visit(path: string, opts: WalkOptions, seenDirs: Set<string>): AsyncGenerator<WalkEntry> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return yield { kind: 'refused', path, reason: 'symbolic link loop' };
    if (code === 'ENOENT') {
      const isLink = await lstat(path).then(
        (l) => l.isSymbolicLink(),
        () => false,
      );
      if (isLink) return yield { kind: 'unreadable', path, reason: 'dangling symbolic link' };
      return yield { kind: 'unreadable', path, reason: 'vanished before it could be read' };
    }
    return yield { kind: 'unreadable', path, reason: `cannot stat: ${code ?? (err as Error).message}` };
  }
  if (st.isDirectory()) {
    const id = `${st.dev}:${st.ino}`;
    if (seenDirs.has(id))
      return yield {
        kind: 'refused',
        path,
        reason: 'directory already visited (symbolic link loop or duplicate link)',
      };
    seenDirs.add(id);
    let dir;
    try {
      dir = await opendir(path);
    } catch (err) {
      return yield {
        kind: 'unreadable',
        path,
        reason: `cannot list directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      };
    }
    const names: string[] = [];
    for await (const e of dir) names.push(e.name);
    names.sort();
    for (const name of names) yield* visit(join(path, name), opts, seenDirs);
    return;
  }
  const why = special(st);
  if (why) return yield { kind: 'refused', path, reason: why };
  if (st.size > opts.maxFileBytes)
    return yield {
      kind: 'refused',
      path,
      reason: `larger than the size limit (${st.size} > ${opts.maxFileBytes} bytes)`,
    };
  yield { kind: 'file', path, size: st.size, mode: st.mode & 0o7777 };
}

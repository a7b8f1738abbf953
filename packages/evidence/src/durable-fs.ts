import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a file and forces it to stable storage before returning. Directories created on the way are
 * collected so the caller can sync them once per batch instead of once per file.
 */
export function writeDurable(path: string, data: Uint8Array, dirs: Set<string>, mode = 0o644): void {
  const dir = dirname(path);
  if (!dirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    dirs.add(dir);
  }
  const fd = openSync(path, 'w', mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A new name or a new file is durable only once its directory entry is synced too. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` atomically: readers see the old content or the new, never a torn file. */
export function replaceDurable(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeDurable(tmp, data, new Set([dirname(path)]));
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/**
 * The same, for many files at once: writes and fsyncs overlap on libuv's thread pool, so the file
 * system can commit them together instead of one journal flush per file.
 */
export async function writeAllDurable(
  files: readonly { path: string; data: Uint8Array }[],
): Promise<Set<string>> {
  const dirs = new Set<string>();
  for (const f of files) {
    const dir = dirname(f.path);
    if (!dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      dirs.add(dir);
    }
  }
  await Promise.all(
    files.map(async (f) => {
      const h = await open(f.path, 'w', 0o644);
      try {
        await h.writeFile(f.data);
        await h.sync();
      } finally {
        await h.close();
      }
    }),
  );
  await Promise.all(
    [...dirs].map(async (d) => {
      const h = await open(d, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }),
  );
  return dirs;
}

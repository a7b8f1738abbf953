import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { EvidenceError } from './error.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per log: a lock file created exclusively, holding host and pid. A lock left by a process
 * that died on this host is taken over; any other holder makes the open fail.
 */
export function acquireLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${hostname()} ${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new EvidenceError('LOG_WRITE', `cannot create the lock file ${path}`, { cause: err });
    }
    let holder: string;
    try {
      holder = readFileSync(path, 'utf8').trim();
    } catch {
      continue; // released between our open and our read
    }
    const [host, pidText] = holder.split(' ');
    const pid = Number(pidText);
    if (host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      unlinkSync(path);
      continue;
    }
    throw new EvidenceError(
      'LOG_LOCKED',
      `the evidence log is locked by ${holder || 'another writer'} (${path})`,
    );
  }
  throw new EvidenceError('LOG_LOCKED', `could not take the lock ${path}`);
}

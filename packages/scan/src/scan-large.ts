import { closeSync, openSync } from 'node:fs';
import { detect, type Detected } from './detect.ts';
import { sweepFd } from './sweep.ts';

/** Files above this size are swept in chunks rather than read whole. */
export const DEFAULT_STREAM_ABOVE = 64 * 1024 * 1024;

/**
 * A large image (a 2 GB eMMC dump) is swept for embedded DER/PEM with memory fixed at one chunk:
 * archive walking and format readers need the whole buffer, so they are given up here, and each
 * hit is read on its own with its offset in the file. Never throws.
 */
export function scanLarge(path: string, opts: { chunkSize?: number } = {}): Detected[] {
  const out: Detected[] = [];
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return [problem(0, `cannot open for streaming: ${message(err)}`)];
  }
  try {
    for (const hit of sweepFd(fd, opts)) {
      // The hit's bytes are a view of the chunk buffer, overwritten on the next read: copy.
      const bytes = Buffer.from(hit.bytes);
      for (const o of detect(bytes, path))
        out.push({
          ...o,
          offset: hit.offset + o.offset,
          ...(o.encoding === 'der' && { encoding: 'binary' }),
        });
    }
  } catch (err) {
    out.push(problem(0, `streaming sweep failed: ${message(err)}`));
  } finally {
    closeSync(fd);
  }
  return out;
}

function problem(offset: number, reason: string): Detected {
  return { type: 'unparseable', offset, encoding: 'binary', format: 'stream', reason };
}

function message(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

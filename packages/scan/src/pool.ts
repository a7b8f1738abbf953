import { Worker } from 'node:worker_threads';
import { ScanError } from './error.ts';
import { scanFile, type FileResult } from './scan-file.ts';

/**
 * From TypeScript sources on Node 20 a worker's entry file is resolved before any --import hook
 * runs, so a .ts entry fails; boot through a tiny script that registers tsx and then imports it.
 */
function startWorker(): Worker {
  const entry = new URL('./worker.ts', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true });
}

interface Pending {
  resolve(r: FileResult): void;
  reject(e: Error): void;
}

/**
 * Detector pool. With `threads` 0 the work runs on the calling thread (tests, tiny scans);
 * otherwise each worker takes files round-robin by queue length.
 */
export class DetectorPool {
  private readonly workers: { w: Worker; pending: Map<number, Pending> }[] = [];
  private next = 0;

  constructor(
    readonly threads: number,
    private readonly maxBytes: number,
    /** Files above this many bytes (archives excepted) are swept in one streaming pass. */
    private readonly streamAbove?: number,
  ) {
    for (let i = 0; i < threads; i++) {
      const w = startWorker();
      const slot = { w, pending: new Map<number, Pending>() };
      w.on('message', (m: { id: number; result?: FileResult; error?: string }) => {
        const p = slot.pending.get(m.id);
        slot.pending.delete(m.id);
        if (m.result) p?.resolve(m.result);
        else p?.reject(new ScanError('SCAN_WORKER_FAILED', m.error ?? 'worker failed'));
      });
      w.on('error', (err) => {
        for (const p of slot.pending.values())
          p.reject(new ScanError('SCAN_WORKER_FAILED', err.message, { cause: err }));
        slot.pending.clear();
      });
      this.workers.push(slot);
    }
  }

  scan(path: string): Promise<FileResult> {
    const opts = this.streamAbove === undefined ? {} : { streamAbove: this.streamAbove };
    if (this.workers.length === 0) return scanFile(path, this.maxBytes, opts);
    let best = this.workers[0]!;
    for (const s of this.workers) if (s.pending.size < best.pending.size) best = s;
    const id = this.next++;
    return new Promise((resolve, reject) => {
      best.pending.set(id, { resolve, reject });
      best.w.postMessage({ id, path, maxBytes: this.maxBytes, ...opts });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}

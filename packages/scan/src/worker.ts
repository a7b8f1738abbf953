import { parentPort } from 'node:worker_threads';
import { scanFile } from './scan-file.ts';

// Files are read inside the worker, so private key bytes never cross into the main thread.
parentPort!.on('message', (m: { id: number; path: string; maxBytes: number; streamAbove?: number }) => {
  scanFile(m.path, m.maxBytes, { ...(m.streamAbove !== undefined && { streamAbove: m.streamAbove }) }).then(
    (result) => parentPort!.postMessage({ id: m.id, result }),
    (err: unknown) =>
      parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) }),
  );
});

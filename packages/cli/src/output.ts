import { EXIT } from './exit-codes.ts';

/** Writes to stdout honouring back-pressure, so a huge NDJSON stream piped to `head` stays flat. */
export async function write(s: string): Promise<void> {
  if (!process.stdout.write(s)) await new Promise<void>((r) => process.stdout.once('drain', r));
}

/** An ended pipe (e.g. `| head`) is not an error of ours. */
export function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { EvidenceError } from '../error.ts';
import { MAX_REQUEST_BYTES } from './request.ts';
import type { Witness } from './witness.ts';

export interface ServeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port, reported in the result. */
  port?: number;
  /** Listen on a non-loopback address; the witness has no authentication beyond log signatures. */
  allowRemote?: boolean;
}

export interface WitnessServer {
  /** The submission prefix clients post to, e.g. http://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Collects the body up to the bound; past it, stops collecting and lets the caller answer 413. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (c: Buffer): void => {
      total += c.length;
      if (total > MAX_REQUEST_BYTES) {
        req.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  // Drain (and drop) the rest so closing does not reset the connection before the answer is read;
  // the request timeout bounds how long a sender can keep this going.
  res.setHeader('connection', 'close');
  req.resume();
  send(res, 413, 'text/plain', `body larger than ${MAX_REQUEST_BYTES} bytes\n`);
}

async function handle(witness: Witness, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/add-checkpoint') return send(res, 404, 'text/plain', 'not found\n');
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, 'text/plain', 'add-checkpoint takes POST\n');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_REQUEST_BYTES) return tooLarge(req, res);
  const body = await readBody(req);
  if (!body) return tooLarge(req, res);
  const r = witness.addCheckpoint(body);
  send(res, r.status, r.contentType, r.body);
}

/** Serves POST /add-checkpoint on loopback unless told otherwise. */
export async function serveWitness(witness: Witness, o: ServeOptions = {}): Promise<WitnessServer> {
  const host = o.host ?? '127.0.0.1';
  if (!isLoopback(host) && !o.allowRemote)
    throw new EvidenceError(
      'BAD_ARGUMENT',
      `refusing to listen on ${host}: the witness serves loopback only unless remote access is allowed explicitly`,
    );
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new EvidenceError('BAD_ARGUMENT', `port ${port} is not a TCP port`);
  const server = createServer((req, res) => {
    handle(witness, req, res).catch((err: unknown) => {
      // Details (a state file path, say) stay in the operator's log, not in the answer.
      process.stderr.write(`keywarden witness: ${(err as Error).message}\n`);
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new EvidenceError('BAD_ARGUMENT', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }),
      ),
    );
    server.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

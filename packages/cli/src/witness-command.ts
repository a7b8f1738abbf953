import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  Cosigner,
  cosignLog,
  EvidenceError,
  parseVkey,
  serveWitness,
  Witness,
  type NoteVerifier,
} from '@keywarden/evidence';
import { write } from './output.ts';
import { collectValues, loadWitnessKeys } from './witness-verify.ts';

/** HOST:PORT, with IPv6 hosts in brackets; port 0 picks a free one. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535)
    throw new EvidenceError('BAD_ARGUMENT', `--listen ${value} is not HOST:PORT (e.g. 127.0.0.1:7380)`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function loadLogKeys(values: readonly string[]): NoteVerifier[] {
  return values.map((v) => {
    try {
      return parseVkey(v);
    } catch (err) {
      throw new EvidenceError('BAD_ARGUMENT', `--log-key ${v.slice(0, 60)}: ${(err as Error).message}`);
    }
  });
}

/** keywarden witness keygen | vkey | serve: a minimal C2SP tlog-witness. */
export function addWitnessCommand(p: Command): void {
  const w = p
    .command('witness')
    .description('A minimal C2SP tlog-witness: cosigns checkpoints of the logs it follows');

  w.command('keygen')
    .description("Create the witness's Ed25519 key file (mode 0600) and print its cosignature/v1 vkey")
    .requiredOption('--key <file>', 'where to write the private key (refuses to overwrite)')
    .requiredOption('--name <name>', 'the witness name, e.g. witness.example.com/w1')
    .action(async (o: { key: string; name: string }) => {
      if (existsSync(o.key))
        throw new EvidenceError('BAD_ARGUMENT', `${o.key} exists; not overwriting a key`);
      await write(`${Cosigner.create(o.key, o.name).vkey}\n`);
    });

  w.command('vkey')
    .description("Print the witness's cosignature/v1 verifier key")
    .requiredOption('--key <file>', 'the private key file')
    .requiredOption('--name <name>', 'the witness name')
    .action(async (o: { key: string; name: string }) => {
      await write(`${Cosigner.load(o.key, o.name).vkey}\n`);
    });

  w.command('serve')
    .description('Serve POST /add-checkpoint (loopback only unless --allow-remote) until interrupted')
    .requiredOption(
      '--log-key <vkey...>',
      'verifier key of a log to follow (its name is the origin), repeatable',
    )
    .requiredOption('--key <file>', "the witness's private key file")
    .requiredOption('--name <name>', 'the witness name the key was made for')
    .requiredOption('--state <file>', 'JSON file of the latest cosigned tree per log')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:0')
    .option('--allow-remote', 'allow a non-loopback address (the witness has no authentication)')
    .action(
      async (o: {
        logKey: string[];
        key: string;
        name: string;
        state: string;
        listen: string;
        allowRemote?: boolean;
      }) => {
        const { host, port } = parseListen(o.listen);
        const witness = new Witness({
          cosigner: Cosigner.load(o.key, o.name),
          logKeys: loadLogKeys(o.logKey),
          statePath: o.state,
        });
        let server;
        try {
          server = await serveWitness(witness, { host, port, allowRemote: o.allowRemote === true });
        } catch (err) {
          witness.close();
          throw err;
        }
        await write(`witness ${witness.name} listening on ${server.url}\n${witness.vkey}\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
        witness.close();
      },
    );
}

/** keywarden evidence witness: gather cosignatures for the log's checkpoint. */
export function addEvidenceWitnessCommand(ev: Command, logDir: (o: { log?: string }) => string): void {
  ev.command('witness')
    .description('Ask witnesses to cosign the current checkpoint and add their cosignatures to it')
    .requiredOption('--url <url...>', 'witness submission prefix (POST <url>/add-checkpoint), repeatable')
    .option(
      '--witness <vkey|file>',
      'keep only cosignatures that verify against these witness keys',
      collectValues,
    )
    .option('--log <dir>', 'the evidence log directory (default: as for evidence verify)')
    .option('--json', 'print the outcome as JSON')
    .action(async (o: { url: string[]; witness?: string[]; log?: string; json?: boolean }) => {
      const dir = logDir(o);
      const trusted = loadWitnessKeys(o.witness ?? []);
      if (trusted.length === 0)
        process.stderr.write('keywarden: no --witness key given; keeping cosignature lines unchecked\n');
      const r = await cosignLog(dir, o.url, trusted);
      if (o.json) await write(`${JSON.stringify(r, null, 2)}\n`);
      else
        await write(
          r.witnesses
            .map((x) =>
              x.ok
                ? `${x.url}: cosigned size ${r.size} (${x.names.join(', ')})`
                : `${x.url}: FAILED: ${x.error}`,
            )
            .join('\n')
            .concat('\n'),
        );
      process.exitCode = r.witnesses.every((x) => x.ok) ? 0 : 1;
    });
}

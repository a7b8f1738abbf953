/**
 * Sweep throughput: finding embedded DER/PEM in binaries without any, against grep over the same bytes.
 *
 *   node --import tsx bench/sweep.ts [--size-mib 1024] [--passes 3] [--large] [--no-pin] [--keep] [--file FILE]
 *
 * Writes (in a temporary directory) a file of deterministic bytes that hold no crypto material:
 * AES-CTR keystream standing in for compressed sections, zero runs, and ELF-like code and string
 * tables, then times over the page-cached file, in the same run: a plain read of it, our streaming
 * sweep (sweepFd: 8 MiB reads carrying SWEEP_OVERLAP octets over), `grep -c -F -- -----BEGIN` with
 * LC_ALL=C, and `rg` when it is installed. One warm-up pass each, then the median of the timed
 * passes, interleaved. On Linux the process (and each peer) is pinned to CPU 0 with taskset.
 * --large also sweeps a 2 GiB file once to check that the peak RSS stays under 256 MB.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweepFd, SWEEP_OVERLAP } from '../packages/scan/src/sweep.ts';
import { prng } from '../packages/testkit/src/random.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  const v = i === -1 ? NaN : Number(args[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const str = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const SIZE = opt('size-mib', 1024) * 1048576;
const PASSES = opt('passes', 3);
const LARGE = args.includes('--large');
const PIN = !args.includes('--no-pin');
const KEEP = args.includes('--keep');
const FILE = str('file');
const CHUNK = 8 << 20;
const RSS_LIMIT_MB = 256;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const gbs = (bytes: number, seconds: number): string => (bytes / seconds / 1e9).toFixed(2);

// ---- pin to one core ----

let pinned = false;
if (PIN && process.platform === 'linux')
  pinned = spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { encoding: 'utf8' }).status === 0;
/** A peer command, pinned to the same core as we are. */
const peer = (cmd: string, cmdArgs: string[]): [string, string[]] =>
  pinned ? ['taskset', ['-c', '0', cmd, ...cmdArgs]] : [cmd, cmdArgs];

// ---- the data ----

const SEGMENT = 256 * 1024;

/** A template of ELF-like bytes: header, code-ish opcodes, then string tables with near misses. */
function elfTemplate(): Buffer {
  const out = Buffer.alloc(1 << 20);
  Buffer.from('7f454c4602010100000000000000000003003e00010000004010000000000000', 'hex').copy(out, 0);
  const rand = prng(0xe1f);
  // Opcode bytes as compilers emit them, lots of 0x48 (REX.W), 0x89/0x8b (mov), 0x0f, 0x00 and 0xff.
  const ops = [0x48, 0x89, 0x8b, 0x0f, 0x00, 0xff, 0xe8, 0x45, 0x31, 0xc0, 0x30, 0x83, 0x74, 0x75, 0xc3];
  for (let i = 64; i < out.length / 2; i++) {
    const r = rand();
    out[i] = r % 4 === 0 ? r >>> 24 : ops[(r >>> 8) % ops.length]!;
  }
  const words = [
    'GLIBC_2.2.5',
    '__libc_start_main',
    '/usr/lib/x86_64-linux-gnu/libcrypto.so.3',
    'PEM_read_bio_X509',
    'CERTIFICATE',
    'error: %s at offset %d (0x%08x)\n',
    '0123456789abcdef',
    'ecdsa-with-SHA256',
    'rsaEncryption',
    '.text',
    '.rodata',
    '.note.gnu.build-id',
    'firmware update: slot %c verified\n',
  ];
  // The strings a PEM reader keeps: present in a real libcrypto, but rare among its other strings.
  const nearMisses = ['-----BEGIN ', '-----END ', '-----BEGIN %s-----\n', 'BEGIN TRANSACTION;'];
  let o = out.length / 2;
  while (o < out.length - 64) {
    const r = rand();
    const w = r % 100 === 0 ? nearMisses[(r >>> 8) % nearMisses.length]! : words[(r >>> 8) % words.length]!;
    o += out.write(w, o, 'latin1');
    out[o++] = 0;
  }
  return out;
}

/** Write `size` bytes of the mix: about 55% keystream, 15% zero runs, 30% ELF-like, in 256 KiB segments. */
function generate(file: string, size: number): number {
  const t0 = performance.now();
  const key = Buffer.alloc(32, 0x6b);
  const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16, 0x77));
  const elf = elfTemplate();
  const rand = prng(2026);
  const buf = Buffer.alloc(CHUNK);
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(CHUNK, size - written);
      for (let o = 0; o < n; o += SEGMENT) {
        const len = Math.min(SEGMENT, n - o);
        const r = rand() % 100;
        if (r < 55) stream.update(buf.subarray(o, o + len).fill(0)).copy(buf, o);
        else if (r < 70) buf.fill(0, o, o + len);
        else {
          const from = rand() % (elf.length - len);
          elf.copy(buf, o, from, from + len);
        }
      }
      writeSync(fd, buf, 0, n);
      written += n;
    }
  } finally {
    closeSync(fd);
  }
  return (performance.now() - t0) / 1000;
}

// ---- the engines ----

function passRead(file: string): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(file, 'r');
  let total = 0;
  try {
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0;) total += n;
  } finally {
    closeSync(fd);
  }
  return total;
}

function passOurs(file: string): number {
  const fd = openSync(file, 'r');
  let hits = 0;
  try {
    for (const h of sweepFd(fd, { chunkSize: CHUNK })) {
      hits++;
      if (hits <= 5) console.log(`  unexpected ${h.kind} at ${h.offset}`); // there should be none
    }
  } finally {
    closeSync(fd);
  }
  return hits;
}

function runPeer(cmd: string, cmdArgs: string[]): number | string {
  const [c, a] = peer(cmd, cmdArgs);
  const r = spawnSync(c, a, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) return `${cmd} could not run (${r.error.message})`;
  // grep and rg exit 1 when nothing matched; the count is still printed.
  if (r.status !== 0 && r.status !== 1) return `${cmd} failed (exit ${r.status}): ${r.stderr.trim()}`;
  return Number(r.stdout.trim() || '0');
}

const hasRg = spawnSync('rg', ['--version']).status === 0;

interface Engine {
  readonly name: string;
  readonly run: (file: string) => number | string;
}
const ENGINES: Engine[] = [
  { name: 'read only (8 MiB readSync)', run: passRead },
  { name: 'ours (sweepFd, 8 MiB chunks)', run: passOurs },
  { name: 'grep -c -F -- -----BEGIN', run: (f) => runPeer('grep', ['-c', '-F', '--', '-----BEGIN', f]) },
];
if (hasRg)
  ENGINES.push({
    name: 'rg -c -F -a -- -----BEGIN',
    run: (f) => runPeer('rg', ['-c', '-F', '-a', '--no-config', '--', '-----BEGIN', f]),
  });

function timeAll(file: string, bytes: number): Map<string, { seconds: number; result: number } | string> {
  const times = new Map<string, number[]>();
  const results = new Map<string, number | string>();
  for (const e of ENGINES) results.set(e.name, e.run(file)); // warm-up, and the page cache
  for (let p = 0; p < PASSES; p++)
    for (const e of ENGINES) {
      if (typeof results.get(e.name) === 'string') continue;
      const t0 = performance.now();
      const r = e.run(file);
      const s = (performance.now() - t0) / 1000;
      if (typeof r === 'string') results.set(e.name, r);
      else times.set(e.name, [...(times.get(e.name) ?? []), s]);
    }
  const out = new Map<string, { seconds: number; result: number } | string>();
  for (const e of ENGINES) {
    const r = results.get(e.name)!;
    const t = times.get(e.name);
    if (typeof r === 'string' || !t) out.set(e.name, typeof r === 'string' ? r : 'not timed');
    else {
      out.set(e.name, { seconds: median(t), result: r });
      console.log(
        `  ${e.name}: passes ${t.map((x) => x.toFixed(3)).join(' ')} s (${gbs(bytes, median(t))} GB/s)`,
      );
    }
  }
  return out;
}

// ---- run ----

console.log(
  `keywarden sweep benchmark: node ${process.version}, ${pinned ? 'pinned to CPU 0 (taskset -a)' : 'not pinned'}, ` +
    `${PASSES} timed passes after 1 warm-up, SWEEP_OVERLAP ${SWEEP_OVERLAP} octets`,
);
const dir = FILE ? undefined : mkdtempSync(join(tmpdir(), 'keywarden-sweep-'));
try {
  const file = FILE ?? join(dir!, 'mix.bin');
  if (!FILE) {
    const s = generate(file, SIZE);
    console.log(`wrote ${(SIZE / 1048576).toFixed(0)} MiB of mixed data in ${s.toFixed(1)} s -> ${file}`);
  }
  const bytes = statSync(file).size;
  console.log('timing:');
  const res = timeAll(file, bytes);
  const ours = res.get(ENGINES[1]!.name);
  console.log('');
  console.log(`${'engine'.padEnd(34)} ${'GB/s'.padStart(6)}  ${'ours / engine'.padStart(13)}  result`);
  for (const e of ENGINES) {
    const r = res.get(e.name)!;
    if (typeof r === 'string') {
      console.log(`${e.name.padEnd(34)} ${r}`);
      continue;
    }
    const ratio = typeof ours === 'string' || !ours ? '-' : `${(r.seconds / ours.seconds).toFixed(2)}x`;
    const what = e.run === passRead ? 'bytes read' : e.run === passOurs ? 'hits' : 'matching lines';
    console.log(
      `${e.name.padEnd(34)} ${gbs(bytes, r.seconds).padStart(6)}  ${ratio.padStart(13)}  ${r.result} ${what}`,
    );
  }
  if (!hasRg) console.log('rg not measured: not installed (Debian package ripgrep)');
  console.log('');
  if (typeof ours !== 'string' && ours) {
    const rate = bytes / ours.seconds / 1e9;
    console.log(
      `target: >= 1 GB/s per core on data without crypto material, read and swept: ${rate >= 1 ? 'MET' : 'NOT MET'} (${rate.toFixed(2)} GB/s` +
        `${ours.result ? `; ${ours.result} hits where none were planted` : ''})`,
    );
  } else console.log(`target: not measured (${ours ?? 'no result'})`);

  if (LARGE) {
    const bigDir = dir ?? mkdtempSync(join(tmpdir(), 'keywarden-sweep-'));
    const big = join(bigDir, 'large.bin');
    try {
      const s = generate(big, 2 * 1024 * 1048576);
      console.log('');
      console.log(`--large: wrote 2048 MiB in ${s.toFixed(1)} s; one streaming sweep:`);
      passRead(big);
      const t0 = performance.now();
      const hits = passOurs(big);
      const t = (performance.now() - t0) / 1000;
      console.log(`  ours: ${t.toFixed(3)} s (${gbs(2 * 1024 * 1048576, t)} GB/s), ${hits} hits`);
    } finally {
      rmSync(bigDir === dir ? big : bigDir, { recursive: true, force: true });
    }
  }
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    `peak RSS of this process: ${rssMb.toFixed(0)} MB` +
      (LARGE
        ? ` (limit ${RSS_LIMIT_MB} MB with a 2 GiB file: ${rssMb < RSS_LIMIT_MB ? 'OK' : 'EXCEEDED'})`
        : ''),
  );
} finally {
  if (dir && !KEEP) rmSync(dir, { recursive: true, force: true });
  else if (dir) console.log(`kept ${dir}`);
}

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Sink, type Decoded } from './sink.ts';

/**
 * xz through the xz-embedded WebAssembly build that the xz-decompress package ships. That package
 * only offers an asynchronous web stream, and the walk is synchronous, so we drive its module
 * directly: the same four exports its own stream calls, one context per stream, output taken 64 KiB
 * at a time so a bomb stops at the cap. The module's layout is pinned by the package version; a
 * change shows up as an 'unavailable' reason, never as a crash.
 */

interface XzExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  create_context(): number;
  destroy_context(ctx: number): void;
  supply_input(ctx: number, length: number): void;
  get_next_output(ctx: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

// The context is a row of u32 fields; these are their indexes.
const BUF_SIZE = 0;
const IN_PTR = 1;
const IN_POS = 2;
const IN_SIZE = 3;
const OUT_PTR = 4;
const OUT_POS = 5;

// xz-embedded's return codes beyond XZ_OK (0) and XZ_STREAM_END (1).
const REASONS: Record<number, string> = {
  2: 'unsupported integrity check',
  3: 'decoder out of memory',
  4: 'dictionary larger than the decoder allows (64 MiB)',
  5: 'not an xz stream or a corrupt stream header',
  6: 'unsupported filter or integrity check (only LZMA2 with CRC32/CRC64 is decoded)',
  7: 'corrupt compressed data or integrity check mismatch',
  8: 'truncated',
};

let loaded: XzExports | string | undefined;

function load(): XzExports | string {
  if (loaded !== undefined) return loaded;
  try {
    const file = createRequire(import.meta.url).resolve('xz-decompress');
    const m = /data:application\/wasm;base64,([A-Za-z0-9+/=]+)/.exec(readFileSync(file, 'utf8'));
    if (!m) return (loaded = 'xz decoder unavailable: no WebAssembly module in xz-decompress');
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(Buffer.from(m[1]!, 'base64')), {});
    const ex = instance.exports;
    for (const fn of ['create_context', 'destroy_context', 'supply_input', 'get_next_output'])
      if (typeof ex[fn] !== 'function') return (loaded = `xz decoder unavailable: xz-decompress lacks ${fn}`);
    loaded = ex as unknown as XzExports;
  } catch (err) {
    loaded = `xz decoder unavailable: ${(err as Error).message}`;
  }
  return loaded;
}

/** Decode every concatenated xz stream in `input`, producing at most `cap` bytes. */
export function unxz(input: Buffer, cap: number): Decoded {
  const xz = load();
  if (typeof xz === 'string') return { data: Buffer.alloc(0), over: false, error: xz };
  const sink = new Sink(cap);
  let ctx = 0;
  try {
    ctx = xz.create_context();
    if (ctx === 0) return sink.done('decoder out of memory');
    let pos = 0;
    let idle = 0;
    for (;;) {
      // Views are made afresh each time: the module's memory may have grown, detaching old ones.
      let f = new Uint32Array(xz.memory.buffer, ctx, 6);
      let supplied = 0;
      if (f[IN_POS] === f[IN_SIZE]) {
        supplied = Math.min(f[BUF_SIZE]!, input.length - pos);
        new Uint8Array(xz.memory.buffer, f[IN_PTR]!, supplied).set(input.subarray(pos, pos + supplied));
        xz.supply_input(ctx, supplied);
        pos += supplied;
      }
      const ret = xz.get_next_output(ctx);
      f = new Uint32Array(xz.memory.buffer, ctx, 6);
      const produced = f[OUT_POS]!;
      if (!sink.push(new Uint8Array(xz.memory.buffer, f[OUT_PTR]!, produced))) return sink.done();
      f[OUT_POS] = 0;
      if (ret === 1) return sink.done();
      if (ret !== 0) return sink.done(REASONS[ret] ?? `decoder error ${ret}`);
      // The decoder reports truncation itself; this only guards against a loop with no progress.
      idle = supplied === 0 && produced === 0 ? idle + 1 : 0;
      if (idle > 4) return sink.done('truncated');
    }
  } catch (err) {
    // A trap may leave the module's allocator inconsistent: start from a fresh instance next time.
    loaded = undefined;
    ctx = 0;
    return sink.done(`xz decoder failed: ${(err as Error).message}`);
  } finally {
    if (ctx !== 0) xz.destroy_context(ctx);
  }
}

import { constants, gunzipSync, inflateRawSync, type ZlibOptions } from 'node:zlib';
import type { Decoded } from './sink.ts';

type ZlibCall = (input: Buffer, options: ZlibOptions) => Buffer;

function run(fn: ZlibCall, input: Buffer, cap: number): Decoded {
  const empty = Buffer.alloc(0);
  // maxOutputLength makes zlib stop before allocating past the cap, instead of after.
  if (cap < 1) return input.length === 0 ? { data: empty, over: false } : { data: empty, over: true };
  try {
    return { data: fn(input, { maxOutputLength: cap }), over: false };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return { data: empty, over: true };
    const reason = (err as Error).message;
    if (code !== 'Z_BUF_ERROR') return { data: empty, over: false, error: reason };
    // A truncated stream: decode again, keeping what the intact part holds.
    try {
      const data = fn(input, { maxOutputLength: cap, finishFlush: constants.Z_SYNC_FLUSH });
      return { data, over: false, error: `truncated (${reason})` };
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return { data: empty, over: true };
      return { data: empty, over: false, error: `truncated (${reason})` };
    }
  }
}

/** gzip, all members of a multi-member file (as gzip -d does), bounded by `cap` output bytes. */
export function gunzip(input: Buffer, cap: number): Decoded {
  return run(gunzipSync, input, cap);
}

/** Raw deflate, as zip stores it. */
export function inflateRaw(input: Buffer, cap: number): Decoded {
  return run(inflateRawSync, input, cap);
}

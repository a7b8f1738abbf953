import cliProgress from 'cli-progress';
import type { ScanProgress } from '@keywarden/engine';

/** A live counter on stderr; the walk is streamed, so there is no total to draw a bar against. */
export function progressBar(): { update(p: ScanProgress): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'scanning {files} files | {mb} MB | {found} found | {current}',
      hideCursor: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, 0, { files: 0, mb: '0.0', found: 0, current: '' });
  return {
    update: (p) =>
      bar.update(0, {
        files: p.files,
        mb: (p.bytes / 1e6).toFixed(1),
        found: p.found,
        current: p.current.slice(-50),
      }),
    stop: () => bar.stop(),
  };
}

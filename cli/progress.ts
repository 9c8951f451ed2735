/**
 * One progress bar for an upload: files and bytes, rate and time left. On a terminal it redraws one line (`\r`);
 * otherwise (a log, a pipe, CI) it prints a plain line every tenth of the way and one at the end.
 */

export interface ProgressSnapshot {
  readonly doneFiles: number;
  readonly totalFiles: number;
  /** Bytes uploaded plus the bytes of the files that were already in the bucket. */
  readonly doneBytes: number;
  readonly totalBytes: number;
  /** Files found already in the bucket, not sent again. */
  readonly skippedFiles: number;
  /** Files not uploaded at all (`--skip-unsupported`): counted as done, so that the files add up to the total. */
  readonly leftOutFiles?: number;
  /** Bytes actually sent, for the rate. */
  readonly sentBytes: number;
  readonly elapsedSeconds: number;
}

const BAR_WIDTH = 24;
/** Below this the rate is noise: no rate nor time left yet. */
const MIN_SECONDS_FOR_RATE = 0.5;

/** `[#########...............]  12/62 files  38.0 MiB/81.2 MiB  12.3 MiB/s  ETA 4s  (3 already there, 2 left out)` */
export function formatProgressLine(snapshot: ProgressSnapshot): string {
  const share = shareOf(snapshot);
  const filled = Math.min(BAR_WIDTH, Math.floor(share * BAR_WIDTH));
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  const parts = [
    bar,
    `${snapshot.doneFiles}/${snapshot.totalFiles} files`,
    `${formatBytes(snapshot.doneBytes)}/${formatBytes(snapshot.totalBytes)}`,
  ];
  const rate =
    snapshot.elapsedSeconds >= MIN_SECONDS_FOR_RATE ? snapshot.sentBytes / snapshot.elapsedSeconds : undefined;
  const finished = snapshot.doneFiles >= snapshot.totalFiles;
  if (finished) {
    if (rate !== undefined && snapshot.sentBytes > 0) parts.push(`${formatBytes(rate)}/s`);
    parts.push(`in ${formatDuration(snapshot.elapsedSeconds)}`);
  } else {
    parts.push(rate === undefined || rate === 0 ? '-- /s' : `${formatBytes(rate)}/s`);
    parts.push(
      `ETA ${rate === undefined || rate === 0 ? '--' : formatDuration((snapshot.totalBytes - snapshot.doneBytes) / rate)}`,
    );
  }
  const counts = [
    ...(snapshot.skippedFiles > 0 ? [`${snapshot.skippedFiles} already there`] : []),
    ...((snapshot.leftOutFiles ?? 0) > 0 ? [`${snapshot.leftOutFiles} left out`] : []),
  ];
  if (counts.length > 0) parts.push(`(${counts.join(', ')})`);
  return parts.join('  ');
}

/** How far along, 0..1: by bytes, or by files when there are no bytes. */
export function shareOf(
  snapshot: Pick<ProgressSnapshot, 'doneBytes' | 'totalBytes' | 'doneFiles' | 'totalFiles'>,
): number {
  if (snapshot.totalBytes > 0) return Math.min(1, snapshot.doneBytes / snapshot.totalBytes);
  return snapshot.totalFiles > 0 ? Math.min(1, snapshot.doneFiles / snapshot.totalFiles) : 1;
}

/** `512 B`, `3.4 KiB`, `81.2 MiB`, `1.50 GiB` */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** `0.4s`, `12s`, `3m05s`, `2h10m` */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** How often a terminal line is redrawn at most. */
const REDRAW_MS = 100;
/** Plain lines: one per this share of the way. */
const PLAIN_STEP = 0.1;

export class UploadProgress {
  private doneFiles = 0;
  private skippedFiles = 0;
  private leftOutFiles = 0;
  private doneBytes = 0;
  private sentBytes = 0;
  private readonly started: number;
  private lastDraw = 0;
  private lastStep = -1;
  private drawn = false;
  private finished = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly interactive: boolean,
    private readonly totalFiles: number,
    private readonly totalBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  /** Bytes sent (a whole small file, or a multipart upload's progress). */
  sent(bytes: number): void {
    this.sentBytes += bytes;
    this.doneBytes += bytes;
    this.update();
  }

  /** A file finished uploading (its bytes were reported with `sent`). */
  uploaded(): void {
    this.doneFiles += 1;
    this.update();
  }

  /** A file already in the bucket: counted as done, not as sent. */
  skipped(size: number): void {
    this.doneFiles += 1;
    this.skippedFiles += 1;
    this.doneBytes += size;
    this.update();
  }

  /** Files that are not uploaded at all (`--skip-unsupported`): done without bytes. */
  leftOut(files: number): void {
    this.doneFiles += files;
    this.leftOutFiles += files;
    this.update();
  }

  snapshot(): ProgressSnapshot {
    return {
      doneFiles: this.doneFiles,
      totalFiles: this.totalFiles,
      doneBytes: this.doneBytes,
      totalBytes: this.totalBytes,
      skippedFiles: this.skippedFiles,
      leftOutFiles: this.leftOutFiles,
      sentBytes: this.sentBytes,
      elapsedSeconds: (this.now() - this.started) / 1000,
    };
  }

  /** The last line: the final state on a terminal (and its newline), or the 100% plain line if not printed yet. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const line = formatProgressLine(this.snapshot());
    if (this.interactive) this.write(`\r${line}\x1b[K\n`);
    else if (this.lastStep < Math.round(1 / PLAIN_STEP) || this.doneFiles < this.totalFiles) this.write(`${line}\n`);
  }

  /** Ends a terminal line before other output (a warning, an error), so that it is not overwritten. */
  interrupt(): void {
    if (this.interactive && this.drawn) {
      this.write('\n');
      this.drawn = false;
    }
  }

  private update(): void {
    if (this.finished) return;
    const snapshot = this.snapshot();
    if (this.interactive) {
      const now = this.now();
      if (now - this.lastDraw < REDRAW_MS && snapshot.doneFiles < snapshot.totalFiles) return;
      this.lastDraw = now;
      this.drawn = true;
      this.write(`\r${formatProgressLine(snapshot)}\x1b[K`);
      return;
    }
    const step = Math.floor(shareOf(snapshot) / PLAIN_STEP + 1e-9);
    // Nothing at 0%: the first line comes after a tenth of the way; 100% waits for the last file.
    if (
      step > this.lastStep &&
      step > 0 &&
      (step < Math.round(1 / PLAIN_STEP) || snapshot.doneFiles >= snapshot.totalFiles)
    ) {
      this.lastStep = step;
      this.write(`${formatProgressLine(snapshot)}\n`);
    }
  }
}

import { setFlagsFromString } from 'node:v8';

/**
 * Old-generation headroom for the garbage the copy makes, while a copy runs.
 *
 * Every byte copied arrives in a new ArrayBuffer of up to 64 KiB (one per socket read). V8 frees the dead ones at
 * its next young-generation collection, which their bytes trigger only once 32 MiB of them have accumulated, and
 * until then it counts them against the old generation's allocation limit. With the copy's small heap (13 to 17
 * MiB live, the SDK's included) that limit sits about 1.5 times the live heap above it, less than those 32 MiB, so
 * swings of dead buffers start full mark-compacts of the whole heap: 18 to 76 per 800 MiB copied, measured, and
 * 0.3 to 1.5 CPU s per GiB, the more the busier the machine (docs/benchmarks.md, "Where the copy's CPU goes").
 * A growing factor of 4 puts the limit above the swing; the buffers are then freed by the cheap young-generation
 * collections, as they would be in a process whose heap is large, and the heap itself stays as small as before.
 *
 * V8 reads `--heap-growing-percent` each time it sets the limit, so the setting takes effect when given at run
 * time (a Lambda cannot give it at start: Node refuses it in NODE_OPTIONS), and it is undone when the last copy in
 * the process ends. A process started with its own `--heap-growing-percent` keeps it.
 */
export const COPY_HEAP_GROWING_PERCENT = 300;

let copiesRunning = 0;

/** Node refuses the flag in NODE_OPTIONS, so a process's own setting can only be on its command line. */
function startedWithOwnSetting(): boolean {
  return process.execArgv.some((arg) => arg.includes('heap-growing-percent'));
}

/** Runs `copy` with the copy's heap growing factor, restoring V8's own when no other copy is running. */
export async function withHeapHeadroom<T>(copy: () => Promise<T>): Promise<T> {
  if (startedWithOwnSetting()) return copy();
  if (copiesRunning++ === 0) setFlagsFromString(`--heap-growing-percent=${COPY_HEAP_GROWING_PERCENT}`);
  try {
    return await copy();
  } finally {
    // 0 is V8's default: the growing factor it derives from the collector's and the program's speeds.
    if (--copiesRunning === 0) setFlagsFromString('--heap-growing-percent=0');
  }
}

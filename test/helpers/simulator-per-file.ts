import { afterAll, afterEach, beforeAll } from 'vitest';
import { DEFAULT_SIMULATOR_SETTINGS } from '../../local/simulator/settings';
import { startSimulator, type Simulator } from '../../local/simulator/simulator';
import type { Pix4dAccount } from '../../src/pix4d/client';

/** One simulator for the tests of a file, its settings back to the defaults after each test. */
export function simulatorPerFile(account: Pix4dAccount): () => Simulator {
  let simulator: Simulator | undefined;
  beforeAll(async () => {
    simulator = await startSimulator({ account });
  });
  afterAll(async () => {
    await simulator?.close();
  });
  afterEach(() => {
    if (simulator) Object.assign(simulator.settings, DEFAULT_SIMULATOR_SETTINGS);
  });
  return () => {
    if (!simulator) throw new Error('the simulator starts before the tests of the file');
    return simulator;
  };
}

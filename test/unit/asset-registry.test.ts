import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/s3/embedded-s3';
import { type Simulator, startSimulator } from '../../local/simulator/simulator';
import { AssetRegistry, AssetRegistryBusyError, type AssetRegistryOptions } from '../../src/assets/asset-registry';
import { Pix4dInspectClient } from '../../src/pix4d/client';

/**
 * The asset registry in a real (embedded) work bucket, with its conditional writes, creating assets in the
 * Pix4Dinspect simulator through the real client.
 */

const WORK_BUCKET = 'work-registry';

let embedded: EmbeddedS3;
let s3: S3Client;
let simulator: Simulator;
let api: Pix4dInspectClient;

beforeAll(async () => {
  embedded = await startEmbeddedS3({ buckets: [WORK_BUCKET] });
  s3 = embedded.client();
  simulator = await startSimulator({ embeddedS3: embedded });
  api = new Pix4dInspectClient({ account: simulator.account, apiUrl: simulator.apiUrl, authUrl: simulator.apiUrl });
});

afterAll(async () => {
  await simulator.close();
  await embedded.close();
});

/** The registry's key for a name, computed as the registry does (default prefix). */
function registryKey(name: string): string {
  return `asset-registry/${createHash('sha256').update(name).digest('hex')}.json`;
}

async function readEntry(name: string): Promise<Record<string, unknown>> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: WORK_BUCKET, Key: registryKey(name) }));
  return JSON.parse(await answer.Body!.transformToString()) as Record<string, unknown>;
}

async function writeEntry(name: string, entry: object): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: WORK_BUCKET,
      Key: registryKey(name),
      Body: JSON.stringify(entry),
      ContentType: 'application/json',
    }),
  );
}

/** Answered asset creations since `from` (index into the simulator's request log). */
function assetPosts(from = 0): { status: number }[] {
  return simulator.requests
    .slice(from)
    .filter((request) => request.method === 'POST' && request.path === '/v1/assets/');
}

function registry(options: Partial<AssetRegistryOptions> = {}): AssetRegistry {
  return new AssetRegistry({ s3, bucket: WORK_BUCKET, ...options });
}

/** A sleep that records what was asked and returns at once. */
function recordingSleep(): { sleeps: number[]; sleep: (ms: number) => Promise<void> } {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms) => void sleeps.push(ms) };
}

describe('AssetRegistry', () => {
  it('creates the asset on first use, then finds it in the registry without creating another', async () => {
    // Prepare
    const mark = simulator.requests.length;
    const input = { name: 'Tower 1 — north ridge', type: 1 };

    // Act
    const first = await registry().resolve(input, api);
    const second = await registry().resolve(input, api);

    // Assess
    expect(first).toEqual({ id: expect.any(Number), name: input.name, source: 'created' });
    expect(second).toEqual({ id: first.id, name: input.name, source: 'registry' });
    expect(assetPosts(mark)).toEqual([expect.objectContaining({ status: 201 })]);
    expect(await readEntry(input.name)).toMatchObject({ state: 'created', name: input.name, id: first.id });
  });

  // Ten rounds, because a race shows up only now and then. Against the embedded S3 this fails today: a conditional
  // PUT that overlaps an unconditional PUT of the same key can pass (see the report), and reads during a write see
  // a half-written object. Real S3 does neither.
  it('creates exactly one asset when five runs resolve the same new name at once (ten rounds)', async () => {
    // Prepare
    const clients = Array.from({ length: 5 }, () => embedded.client());
    const registries = clients.map(
      (client) =>
        new AssetRegistry({
          s3: client,
          bucket: WORK_BUCKET,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 25))),
        }),
    );
    const rounds: { posts: number; ids: number; created: number; failures: string[] }[] = [];

    // Act
    for (let round = 0; round < 10; round++) {
      const mark = simulator.requests.length;
      const input = { name: `Tower 2 concurrent #${round}`, type: 1 };
      const settled = await Promise.allSettled(registries.map((each) => each.resolve(input, api)));
      const resolved = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      rounds.push({
        posts: assetPosts(mark).length,
        ids: new Set(resolved.map((asset) => asset.id)).size,
        created: resolved.filter((asset) => asset.source === 'created').length,
        failures: settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : [])),
      });
    }

    // Assess
    expect(rounds).toEqual(Array.from({ length: 10 }, () => ({ posts: 1, ids: 1, created: 1, failures: [] })));
  });

  it('takes over a stale claim whose creator died', async () => {
    // Prepare
    const mark = simulator.requests.length;
    const input = { name: 'Tower 3 stale', type: 1 };
    await writeEntry(input.name, { state: 'creating', name: input.name, claimedAt: Date.now() - 10 * 60_000 });
    const { sleeps, sleep } = recordingSleep();

    // Act
    const resolved = await registry({ sleep }).resolve(input, api);

    // Assess
    expect(resolved).toEqual({ id: expect.any(Number), name: input.name, source: 'created' });
    expect(sleeps).toEqual([]);
    expect(assetPosts(mark)).toHaveLength(1);
    expect(await readEntry(input.name)).toMatchObject({ state: 'created', id: resolved.id });
  });

  it('lets a failed creation through, and the next resolve succeeds at once', async () => {
    // Prepare
    const mark = simulator.requests.length;
    const input = { name: 'Tower 4 refused once', type: 1 };
    simulator.injectFault({
      action: 'answer',
      status: 400,
      method: 'POST',
      pathIncludes: '/v1/assets/',
      body: { name: ['Refused by the test.'] },
    });
    const { sleeps, sleep } = recordingSleep();

    // Act
    const failure = await registry({ sleep })
      .resolve(input, api)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const retried = await registry({ sleep }).resolve(input, api);

    // Assess
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).name).toBe('Pix4dBadRequestError');
    expect(retried).toEqual({ id: expect.any(Number), name: input.name, source: 'created' });
    expect(sleeps).toEqual([]);
    expect(assetPosts(mark).map((request) => request.status)).toEqual([400, 201]);
  });

  // A creator is not always dead when its claim turns stale: the client may still be retrying. When it then fails,
  // its release of the claim must not wipe the id that the run which took over has recorded.
  it('keeps the id recorded by a run that took over, when the slow first creator comes back, and creates nothing more', async () => {
    // Prepare
    const mark = simulator.requests.length;
    const input = { name: 'Tower 6 slow creator', type: 1 };
    // Run A's client waits between its retries until the test lets it go on.
    let enteredBackoff!: () => void;
    const inBackoff = new Promise<void>((resolve) => (enteredBackoff = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slowApi = new Pix4dInspectClient({
      account: simulator.account,
      apiUrl: simulator.apiUrl,
      authUrl: simulator.apiUrl,
      sleep: async () => {
        enteredBackoff();
        await released;
      },
    });
    simulator.injectFault({ action: 'answer', status: 503, method: 'POST', pathIncludes: '/v1/assets/' });
    const runA = registry()
      .resolve(input, slowApi)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await inBackoff;
    // Run B comes when A's claim is stale (its clock is past the stale period) and creates the asset.
    const runB = await registry({ now: () => Date.now() + 10 * 60_000 }).resolve(input, api);

    // Act: A looks before sending its create again, and finds the asset B created
    release();
    const outcomeOfA = await runA;
    const entryAfterA = await readEntry(input.name);
    const later = await registry().resolve(input, api);

    // Assess
    expect(runB.source).toBe('created');
    expect(outcomeOfA).toBeUndefined();
    expect(entryAfterA).toMatchObject({ state: 'created', id: runB.id });
    expect(later).toEqual({ id: runB.id, name: input.name, source: 'registry' });
    expect(assetPosts(mark).map((request) => request.status)).toEqual([503, 201]);
  });

  it('gives AssetRegistryBusyError when another run holds a fresh claim and never finishes', async () => {
    // Prepare
    const mark = simulator.requests.length;
    const input = { name: 'Tower 5 busy', type: 1 };
    let clock = Date.parse('2026-11-28T10:00:00Z');
    const claim = { state: 'creating', name: input.name, claimedAt: clock };
    await writeEntry(input.name, claim);
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
    };

    // Act
    const outcome = registry({ now: () => clock, sleep, waitForOtherMs: 1_000 }).resolve(input, api);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(AssetRegistryBusyError);
    expect(sleeps.length).toBeGreaterThan(0);
    expect(sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(1_000);
    expect(assetPosts(mark)).toEqual([]);
    expect(await readEntry(input.name)).toEqual(claim);
  });
});

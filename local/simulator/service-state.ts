import { randomBytes, randomUUID } from 'node:crypto';
import type { ProcessingOutcome } from './settings';

/**
 * The simulated account's data, in memory. Statuses are computed from the clock when read, so nothing runs in
 * the background and a stopped simulator leaves no timer behind.
 */

export interface SimulatedStatus {
  readonly id: number;
  readonly name: string;
}

/** The simulator's status list (the real one is not public); only 7 "Processing completed" is documented. */
export const STATUS = {
  created: { id: 1, name: 'Created' },
  imagesRegistered: { id: 2, name: 'Images uploaded' },
  queued: { id: 3, name: 'Processing queued' },
  processing: { id: 4, name: 'Processing' },
  generatingOutputs: { id: 6, name: 'Generating outputs' },
  completed: { id: 7, name: 'Processing completed' },
  failed: { id: 8, name: 'Processing failed' },
} as const satisfies Record<string, SimulatedStatus>;

export interface StoredAsset {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly latitude: string | null;
  readonly longitude: string | null;
  readonly description: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface ProcessingRun {
  readonly startedAt: number;
  readonly durationMs: number;
  readonly outcome: ProcessingOutcome;
  readonly taskUuid: string;
}

export interface StoredInspection {
  readonly id: number;
  readonly projectId: number;
  readonly assetId: number;
  readonly name: string;
  readonly description: string;
  readonly inspectionDate: string;
  /** `inspection_date` as the request gave it (null: none, the service dated it), for tests to assert what was sent. */
  readonly inspectionDateGiven: string | null;
  readonly processingParameters: Record<string, unknown>;
  /** Every object of the inspection is written under `keyPrefix/`. */
  readonly keyPrefix: string;
  /** The images of the inspection: a key registered again names the same image. */
  readonly registeredKeys: Set<string>;
  /** How many register calls that took effect named each key, so that tests can count repeated registrations. */
  readonly registrations: Map<string, number>;
  readonly createdAt: string;
  updatedAt: string;
  processing?: ProcessingRun;
}

export interface IssuedS3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly expiresAt: number;
  readonly inspectionId: number;
}

export class ServiceState {
  readonly assets = new Map<number, StoredAsset>();
  readonly inspections = new Map<number, StoredInspection>();
  readonly credentials = new Map<string, IssuedS3Credentials>();
  private nextAssetId = 915;
  private nextInspectionId = 1417;
  private nextProjectId = 745411;
  private readonly userPrefix = `user-${randomUUID()}`;

  constructor(readonly bucket: string) {}

  createAsset(fields: Omit<StoredAsset, 'id' | 'created_at' | 'updated_at'>, now: number): StoredAsset {
    const at = isoWithOffset(now);
    const asset = { ...fields, id: this.nextAssetId++, created_at: at, updated_at: at };
    this.assets.set(asset.id, asset);
    return asset;
  }

  createInspection(
    fields: Pick<
      StoredInspection,
      'assetId' | 'name' | 'description' | 'inspectionDate' | 'inspectionDateGiven' | 'processingParameters'
    >,
    now: number,
  ): StoredInspection {
    const id = this.nextInspectionId++;
    const projectId = this.nextProjectId++;
    const at = isoWithOffset(now);
    const inspection: StoredInspection = {
      ...fields,
      id,
      projectId,
      keyPrefix: `${this.userPrefix}/project-${projectId}`,
      registeredKeys: new Set(),
      registrations: new Map(),
      createdAt: at,
      updatedAt: at,
    };
    this.inspections.set(id, inspection);
    return inspection;
  }

  issueCredentials(inspection: StoredInspection, lifetimeSeconds: number, now: number): IssuedS3Credentials {
    const issued: IssuedS3Credentials = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(96).toString('base64')}`,
      bucket: this.bucket,
      keyPrefix: inspection.keyPrefix,
      expiresAt: now + lifetimeSeconds * 1000,
      inspectionId: inspection.id,
    };
    this.credentials.set(issued.accessKeyId, issued);
    return issued;
  }

  statusOf(inspection: StoredInspection, now: number): SimulatedStatus {
    const run = inspection.processing;
    if (!run) return inspection.registeredKeys.size > 0 ? STATUS.imagesRegistered : STATUS.created;
    const progress = run.durationMs <= 0 ? 1 : (now - run.startedAt) / run.durationMs;
    if (progress >= 1 && run.outcome !== 'never') return run.outcome === 'completed' ? STATUS.completed : STATUS.failed;
    if (progress < 0.2) return STATUS.queued;
    if (progress < 0.7 || run.outcome === 'never') return STATUS.processing;
    return STATUS.generatingOutputs;
  }

  /** The detail view, shaped like the tutorial's example answer. */
  inspectionView(inspection: StoredInspection, now: number): Record<string, unknown> {
    const status = this.statusOf(inspection, now);
    const completed = status.id === STATUS.completed.id;
    const failed = status.id === STATUS.failed.id;
    return {
      id: inspection.id,
      project_id: inspection.projectId,
      can_retry: failed,
      retry_of: null,
      retries: [],
      asset: this.assets.get(inspection.assetId),
      status,
      pcs_task_uuid: inspection.processing?.taskUuid ?? null,
      inspection_date: inspection.inspectionDate,
      annotations: [],
      description: inspection.description,
      name: inspection.name,
      is_main: true,
      ground_reference_altitude: completed ? '12.6383' : null,
      processing_parameters: inspection.processingParameters,
      report_status: completed ? 'available' : failed ? 'failed' : 'not_available',
      created_at: inspection.createdAt,
      updated_at: inspection.processing && status.id !== STATUS.queued.id ? isoWithOffset(now) : inspection.updatedAt,
    };
  }
}

/** `2021-06-15T15:20:39.576966+00:00`: the service's timestamp format (microseconds, numeric offset). */
export function isoWithOffset(at: number): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

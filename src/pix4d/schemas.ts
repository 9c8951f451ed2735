import { z } from 'zod';

/**
 * Shapes of the Pix4Dinspect API, after the vendor's tutorial. Responses are loose objects: the service may add
 * fields at any time, and an unknown field must not break a running pipeline; a missing or mistyped field we rely
 * on is an error.
 */

const timestamp = z.string().min(1);
const instant = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'not a date')
  .transform((value) => new Date(value));
const decimalString = z.union([z.string(), z.number()]).transform(String);

export const tokenResponseSchema = z.looseObject({
  api_token: z.string().min(1),
  expires_in: z.number().positive(),
});

export const processingParametersSchema = z.strictObject({
  is_video: z.boolean(),
  generate_point_cloud: z.boolean(),
  clip_point_cloud: z.boolean(),
  clipping_radius: z.number().nonnegative(),
  detect_antennas: z.boolean(),
});
export type ProcessingParameters = z.infer<typeof processingParametersSchema>;

/** The tutorial's processing parameters: photos, point cloud clipped to the tower, antennas detected. */
export const DEFAULT_PROCESSING_PARAMETERS: Readonly<ProcessingParameters> = Object.freeze({
  is_video: false,
  generate_point_cloud: true,
  clip_point_cloud: true,
  clipping_radius: 0,
  detect_antennas: true,
});

export const assetSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  type: z.number().int(),
  latitude: decimalString.nullish(),
  longitude: decimalString.nullish(),
  description: z.string().nullish(),
  created_at: timestamp.optional(),
  updated_at: timestamp.optional(),
});
export type Asset = z.infer<typeof assetSchema>;

export const inspectionStatusSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
});
export type InspectionStatus = z.infer<typeof inspectionStatusSchema>;

export const inspectionSchema = z.looseObject({
  id: z.number().int(),
  project_id: z.number().int().nullish(),
  can_retry: z.boolean().optional(),
  retry_of: z.number().int().nullish(),
  retries: z.array(z.unknown()).optional(),
  // The detail view nests the asset; a creation answer may give its id only.
  asset: z.union([assetSchema, z.number().int()]),
  status: inspectionStatusSchema,
  pcs_task_uuid: z.string().nullish(),
  inspection_date: timestamp.nullish(),
  annotations: z.array(z.unknown()).optional(),
  description: z.string().nullish(),
  name: z.string().nullish(),
  is_main: z.boolean().optional(),
  ground_reference_altitude: decimalString.nullish(),
  processing_parameters: z.looseObject({}).nullish(),
  report_status: z.string().nullish(),
  created_at: timestamp.optional(),
  updated_at: timestamp.optional(),
});
export type Inspection = z.infer<typeof inspectionSchema>;

export const s3CredentialsResponseSchema = z.looseObject({
  access_key: z.string().min(1),
  secret_key: z.string().min(1),
  session_token: z.string().min(1),
  expiration: instant,
  bucket: z.string().min(1),
  key: z.string().min(1),
  server_time: instant,
  region: z.string().min(1),
});

export const registerImagesResponseSchema = z.looseObject({
  nb_images_registered: z.number().int().nonnegative(),
});

export interface CreateAssetInput {
  readonly name: string;
  readonly type: number;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly description?: string;
}

export interface CreateInspectionInput {
  /** Id of the asset the inspection belongs to. */
  readonly asset: number;
  readonly processing_parameters: ProcessingParameters;
  readonly name?: string;
  readonly description?: string;
  /** ISO 8601 date and time of the flight. */
  readonly inspection_date?: string;
}

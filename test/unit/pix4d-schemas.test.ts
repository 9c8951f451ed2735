import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  type Asset,
  assetListSchema,
  assetSchema,
  type Inspection,
  inspectionListSchema,
  inspectionSchema,
  registerImagesResponseSchema,
  s3CredentialsResponseSchema,
  tokenResponseSchema,
} from '../../src/pix4d/schemas';

/**
 * Every answer in test/fixtures/pix4d-answers, the tutorial's and plausible variants of them (nulls, numbers as
 * strings, unknown fields, bare ids, lists), read by its schema: the values the pipeline uses come out, typed.
 * A needed field that is missing or unreadable is refused with an issue that names it.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'pix4d-answers');
const answer = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

/** What the pipeline reads of an inspection. */
function inspectionUse(inspection: Inspection) {
  return {
    id: inspection.id,
    projectId: inspection.project_id,
    assetId: typeof inspection.asset === 'number' ? inspection.asset : inspection.asset.id,
    status: { id: inspection.status.id, name: inspection.status.name },
    pcsTaskUuid: inspection.pcs_task_uuid,
    name: inspection.name,
    createdAt: inspection.created_at,
  };
}

function assetUse(asset: Asset) {
  return { id: asset.id, name: asset.name, type: asset.type, createdAt: asset.created_at };
}

interface AcceptedCase {
  readonly file: string;
  /** Parses the answer and returns what the pipeline reads of it. */
  readonly read: (json: unknown) => unknown;
  readonly expected: unknown;
}

function accepted<S extends z.ZodType>(
  file: string,
  schema: S,
  use: (parsed: z.output<S>) => unknown,
  expected: unknown,
): AcceptedCase {
  return { file, read: (json) => use(schema.parse(json)), expected };
}

const TUTORIAL_S3 = {
  access_key: 'ASIATOCJLBKSU2CVJIHR',
  secret_key: '5OGGBSvn8Sesdu8l...<remainder of the secret key>',
  session_token: 'FwoGZXIvYX...<remainder of security token>',
  bucket: 'prod-pix4d-cloud-default',
  key: 'user-199a56ab-7ac6-d6d1-4778-5b4d338fc9de/project-883349',
  server_time: new Date('2021-05-19T09:55:47.357Z'),
};

const TUTORIAL_INSPECTION = {
  id: 1417,
  projectId: 745411,
  assetId: 915,
  status: { id: 7, name: 'Processing completed' },
  pcsTaskUuid: 'bcdbf959-be66-4595-bcea-35879d5370d5',
  name: 'My first inspection',
  createdAt: new Date('2020-09-17T15:09:43.116Z'),
};

const ACCEPTED: AcceptedCase[] = [
  accepted(
    'token-tutorial-authentication.json',
    tokenResponseSchema,
    (t) => ({ api_token: t.api_token, expires_in: t.expires_in }),
    {
      api_token: '<ACCESS_TOKEN>',
      expires_in: 36000,
    },
  ),
  accepted(
    'token-tutorial-first-example.json',
    tokenResponseSchema,
    (t) => ({ api_token: t.api_token, expires_in: t.expires_in }),
    {
      api_token: '<INSPECT_JWT_TOKEN>',
      expires_in: 172800,
    },
  ),
  accepted(
    'token-strings-and-extras.json',
    tokenResponseSchema,
    (t) => ({ api_token: t.api_token, expires_in: t.expires_in }),
    {
      api_token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb21wYW55QHBpeDRkLmNvbSJ9.c2lnbmF0dXJl',
      expires_in: 36000,
    },
  ),
  accepted('s3-credentials-tutorial.json', s3CredentialsResponseSchema, (c) => ({ ...c }), {
    ...TUTORIAL_S3,
    expiration: new Date('2021-05-10T21:55:47Z'),
    region: 'us-east-1',
  }),
  accepted(
    's3-credentials-region-null.json',
    s3CredentialsResponseSchema,
    (c) => ({ ...c, hasRegion: c.region !== undefined }),
    {
      ...TUTORIAL_S3,
      key: 'user-199a56ab-7ac6-d6d1-4778-5b4d338fc9de/project-883349/',
      expiration: new Date('2021-05-19T21:55:47Z'),
      region: undefined,
      hasRegion: false,
      endpoint: null,
    },
  ),
  accepted(
    's3-credentials-region-absent.json',
    s3CredentialsResponseSchema,
    (c) => ({ ...c, hasRegion: c.region !== undefined }),
    {
      ...TUTORIAL_S3,
      expiration: new Date('2021-05-19T21:55:47Z'),
      hasRegion: false,
    },
  ),
  accepted('register-images-tutorial.json', registerImagesResponseSchema, (r) => r.nb_images_registered, 10),
  accepted('register-images-string-count.json', registerImagesResponseSchema, (r) => r.nb_images_registered, 2),
  accepted('inspection-tutorial.json', inspectionSchema, inspectionUse, TUTORIAL_INSPECTION),
  accepted('inspection-strings.json', inspectionSchema, inspectionUse, TUTORIAL_INSPECTION),
  accepted('inspection-nulls.json', inspectionSchema, inspectionUse, {
    id: 1418,
    projectId: null,
    assetId: 915,
    status: { id: 1, name: 'Created' },
    pcsTaskUuid: null,
    name: null,
    createdAt: undefined,
  }),
  accepted('inspection-created-bare-asset.json', inspectionSchema, inspectionUse, {
    id: 1419,
    projectId: 745412,
    assetId: 915,
    status: { id: 1, name: 'Created' },
    pcsTaskUuid: null,
    name: 'Tower 915 flight 2',
    createdAt: new Date('2021-06-15T13:20:39.576Z'),
  }),
  accepted('inspection-extra-fields.json', inspectionSchema, inspectionUse, {
    id: 1420,
    projectId: 745413,
    assetId: 916,
    status: { id: 3, name: 'Processing' },
    pcsTaskUuid: '0d6c5f0e-8c1b-4c55-9a47-7e3c1b2a9f10',
    name: 'Rooftop tower',
    createdAt: new Date('2021-06-15T13:20:39Z'),
  }),
  accepted('asset-tutorial.json', assetSchema, assetUse, {
    id: 915,
    name: 'Demo Cell Tower',
    type: 1,
    createdAt: new Date('2020-09-17T15:09:42.289Z'),
  }),
  accepted('asset-nulls-and-strings.json', assetSchema, assetUse, {
    id: 917,
    name: 'Demo Cell Tower',
    type: 1,
    createdAt: undefined,
  }),
  accepted('assets-paginated.json', assetListSchema, (page) => ({ items: page.items.map(assetUse), next: page.next }), {
    items: [
      { id: 915, name: 'Demo Cell Tower', type: 1, createdAt: new Date('2020-09-17T15:09:42.289Z') },
      { id: 916, name: 'Tower 916', type: 2, createdAt: undefined },
    ],
    next: 'https://api.inspect.pix4d.com/v1/assets/?page=2',
  }),
  accepted(
    'assets-plain-list.json',
    assetListSchema,
    (page) => ({ items: page.items.map(assetUse), next: page.next }),
    {
      items: [
        { id: 915, name: 'Demo Cell Tower', type: 1, createdAt: new Date('2020-09-17T15:09:42.289Z') },
        { id: 918, name: 'Tower 918', type: 1, createdAt: undefined },
      ],
      next: undefined,
    },
  ),
  accepted(
    'inspections-paginated.json',
    inspectionListSchema,
    (page) => ({ items: page.items.map(inspectionUse), next: page.next }),
    {
      items: [
        TUTORIAL_INSPECTION,
        {
          id: 1419,
          projectId: null,
          assetId: 915,
          status: { id: 1, name: 'Created' },
          pcsTaskUuid: null,
          name: null,
          createdAt: undefined,
        },
      ],
      next: undefined,
    },
  ),
  accepted(
    'inspections-plain-list.json',
    inspectionListSchema,
    (page) => ({ items: page.items.map(inspectionUse), next: page.next }),
    {
      items: [
        {
          id: 1420,
          projectId: 745413,
          assetId: 916,
          status: { id: 3, name: 'Processing' },
          pcsTaskUuid: '0d6c5f0e-8c1b-4c55-9a47-7e3c1b2a9f10',
          name: 'Rooftop tower',
          createdAt: new Date('2021-06-15T13:20:39Z'),
        },
      ],
      next: undefined,
    },
  ),
];

/** A copy of `json` with the value at `path` replaced, or removed when `value` is `REMOVED`. */
const REMOVED = Symbol('removed');
function changed(json: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(json) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === REMOVED) delete parent[last];
  else parent[last] = value;
  return copy;
}

interface RefusedCase {
  readonly label: string;
  readonly file: string;
  readonly schema: z.ZodType;
  /** The answer as sent: the fixture, or a copy of it with one field changed. */
  readonly json: unknown;
  /** The path the issue must name, dotted. */
  readonly field: string;
  /** How the message describes what was received. */
  readonly received: string;
}

function refused(
  file: string,
  schema: z.ZodType,
  path: readonly (string | number)[],
  value: unknown,
  received: string,
): RefusedCase {
  const label = value === REMOVED ? `without ${path.join('.')}` : `with ${path.join('.')} = ${JSON.stringify(value)}`;
  return {
    label: `${file} ${label}`,
    file,
    schema,
    json: changed(answer(file), path, value),
    field: path.join('.'),
    received,
  };
}

const REFUSED: RefusedCase[] = [
  {
    label: 'inspection-missing-id.json as is',
    file: 'inspection-missing-id.json',
    schema: inspectionSchema,
    json: answer('inspection-missing-id.json'),
    field: 'id',
    received: 'missing',
  },
  refused('inspection-tutorial.json', inspectionSchema, ['id'], null, 'null'),
  refused('inspection-tutorial.json', inspectionSchema, ['id'], '', 'an empty string'),
  refused('inspection-tutorial.json', inspectionSchema, ['id'], '1417.5', '"1417.5"'),
  refused('inspection-tutorial.json', inspectionSchema, ['id'], -1417, '-1417'),
  refused('inspection-tutorial.json', inspectionSchema, ['status'], REMOVED, 'missing'),
  refused('inspection-tutorial.json', inspectionSchema, ['status', 'id'], REMOVED, 'missing'),
  refused('inspection-tutorial.json', inspectionSchema, ['status', 'name'], null, 'null'),
  refused('inspection-tutorial.json', inspectionSchema, ['asset'], REMOVED, 'missing'),
  refused('inspection-tutorial.json', inspectionSchema, ['asset', 'id'], 'tower', '"tower"'),
  refused('inspection-tutorial.json', inspectionSchema, ['project_id'], 'none', '"none"'),
  refused('inspection-tutorial.json', inspectionSchema, ['created_at'], 'yesterday', '"yesterday"'),
  refused('inspection-tutorial.json', inspectionSchema, ['created_at'], '1', '"1"'),
  refused('token-tutorial-authentication.json', tokenResponseSchema, ['api_token'], REMOVED, 'missing'),
  refused('token-tutorial-authentication.json', tokenResponseSchema, ['api_token'], '', 'an empty string'),
  refused('token-tutorial-authentication.json', tokenResponseSchema, ['expires_in'], null, 'null'),
  refused('token-tutorial-authentication.json', tokenResponseSchema, ['expires_in'], '', 'an empty string'),
  refused('token-tutorial-authentication.json', tokenResponseSchema, ['expires_in'], '0', '0'),
  ...(['access_key', 'secret_key', 'session_token', 'expiration', 'bucket', 'key', 'server_time'] as const).map(
    (field) => refused('s3-credentials-tutorial.json', s3CredentialsResponseSchema, [field], REMOVED, 'missing'),
  ),
  refused('s3-credentials-tutorial.json', s3CredentialsResponseSchema, ['expiration'], 'soon', '"soon"'),
  refused('s3-credentials-tutorial.json', s3CredentialsResponseSchema, ['region'], 1, '1'),
  refused('register-images-tutorial.json', registerImagesResponseSchema, ['nb_images_registered'], REMOVED, 'missing'),
  refused('register-images-tutorial.json', registerImagesResponseSchema, ['nb_images_registered'], '-1', '"-1"'),
  refused('register-images-tutorial.json', registerImagesResponseSchema, ['nb_images_registered'], 'ten', '"ten"'),
  refused('asset-tutorial.json', assetSchema, ['name'], REMOVED, 'missing'),
  refused('asset-tutorial.json', assetSchema, ['type'], null, 'null'),
  refused('assets-paginated.json', assetListSchema, ['results'], REMOVED, 'missing'),
  refused('assets-paginated.json', assetListSchema, ['next'], 2, '2'),
];

describe('Pix4Dinspect answers', () => {
  it('has a case below for every fixture', () => {
    // Prepare
    const files = readdirSync(FIXTURES).filter((file) => file.endsWith('.json'));

    // Act
    const covered = new Set([...ACCEPTED.map((c) => c.file), ...REFUSED.map((c) => c.file)]);

    // Assess
    expect(files.filter((file) => !covered.has(file))).toEqual([]);
  });

  it.each(ACCEPTED.map((reading) => [reading.file, reading] as const))(
    'reads %s',
    (_file, { file, read, expected }) => {
      // Prepare
      const json = answer(file);

      // Act
      const used = read(json);

      // Assess
      expect(used).toEqual(expected);
    },
  );

  it.each(REFUSED.map((refusal) => [refusal.label, refusal] as const))(
    'refuses %s, naming the field',
    (_label, { schema, json, field, received }) => {
      // Prepare: the answer is built with the case

      // Act
      const result = schema.safeParse(json);

      // Assess
      expect(result.success).toBe(false);
      const issues = result.error!.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      expect(issues).toContainEqual({ path: field, message: expect.stringContaining(`got ${received}`) });
    },
  );

  it.each([
    ['assets-paginated.json', assetListSchema, ['results', 1, 'name']],
    ['assets-plain-list.json', assetListSchema, [1, 'type']],
    ['inspections-paginated.json', inspectionListSchema, ['results', 0, 'status']],
  ] as const)('keeps an item of %s it cannot read apart, as sent, and reads the others', (file, schema, path) => {
    // Prepare: one item with an id loses a field its schema needs
    const json = changed(answer(file), path, REMOVED);
    const complete = schema.parse(answer(file));

    // Act
    const page = schema.parse(json);

    // Assess
    expect(page.items).toHaveLength(complete.items.length - 1);
    expect(page.unreadable).toHaveLength(1);
    expect((page.unreadable[0] as { id: unknown }).id).toBeDefined();
  });

  it('keeps the fields it does not check, as sent', () => {
    // Prepare
    const json = answer('inspection-extra-fields.json') as Record<string, unknown>;

    // Act
    const inspection = inspectionSchema.parse(json);

    // Assess
    expect(inspection).toMatchObject({
      owner: json.owner,
      share_tokens: [],
      outputs: json.outputs,
      organization_uuid: null,
    });
    expect(inspection.asset).toMatchObject({
      site: { code: 'GE-0042', operator: 'Example Telecom' },
      tags: ['rooftop'],
    });
    expect(inspection.status).toMatchObject({ progress: 0.42 });
  });

  it('leaves unchecked fields that the pipeline does not use, whatever their value', () => {
    // Prepare
    const json = answer('inspection-nulls.json') as Record<string, unknown>;

    // Act
    const inspection = inspectionSchema.parse(json);

    // Assess
    for (const field of [
      'can_retry',
      'retries',
      'annotations',
      'is_main',
      'updated_at',
      'processing_parameters',
      'report_status',
    ]) {
      expect(inspection[field], field).toBeNull();
    }
    expect(inspection.asset).toMatchObject({ name: null, type: null, created_at: null });
  });

  it('skips list items without a usable id, keeping the others in order', () => {
    // Prepare
    const json = answer('inspections-paginated.json') as { results: unknown[] };

    // Act
    const page = inspectionListSchema.parse(json);

    // Assess
    expect(json.results).toHaveLength(3);
    expect(page.items.map((item) => item.id)).toEqual([1417, 1419]);
  });
});

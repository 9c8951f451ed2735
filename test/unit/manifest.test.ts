import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifest } from '../../src/batch/manifest';

/**
 * manifest.json: the design's example and the empty object parse; every other file in test/fixtures/manifests
 * is refused with a ManifestError whose short message names the problem.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'manifests');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** The error parseManifest throws for a text; fails the test when it throws nothing or something else. */
function manifestErrorOf(text: string): ManifestError {
  try {
    parseManifest(text);
  } catch (error) {
    if (error instanceof ManifestError) return error;
    throw error;
  }
  throw new Error('parseManifest accepted the manifest');
}

describe('parseManifest accepts', () => {
  it('the example of DESIGN.md, every field kept', () => {
    // Prepare
    const text = fixture('valid-design-example.json');

    // Act
    const manifest = parseManifest(text);

    // Assess
    expect(manifest).toEqual({
      asset: { name: 'Tower 123', type: 1, latitude: 4.02, longitude: 9.8, description: '...' },
      inspection: { name: 'Flight 1', description: '...', inspection_date: '2026-11-28T10:00:00Z' },
      processing_parameters: {
        is_video: false,
        generate_point_cloud: true,
        clip_point_cloud: true,
        clipping_radius: 0,
        detect_antennas: true,
      },
      images: ['DCIM/DJI_0001.JPG'],
    });
  });

  it('an empty object: every field is optional', () => {
    // Prepare
    const text = fixture('valid-empty-object.json');

    // Act
    const manifest = parseManifest(text);

    // Assess
    expect(manifest).toEqual({});
  });

  it('an existing asset given by id alone', () => {
    // Prepare
    const text = fixture('valid-existing-asset.json');

    // Act
    const manifest = parseManifest(text);

    // Assess
    expect(manifest).toEqual({ asset: { id: 915 } });
  });

  it('a subset of processing parameters, a date with an offset and paths with spaces, "+" and unicode', () => {
    // Prepare
    const text = fixture('valid-partial.json');

    // Act
    const manifest = parseManifest(text);

    // Assess
    expect(manifest.processing_parameters).toEqual({ is_video: true });
    expect(manifest.inspection?.inspection_date).toBe('2026-11-28T11:00:00.250+01:00');
    expect(manifest.images).toEqual([
      'DCIM/100MEDIA/DJI_0001.MOV',
      'DCIM/101MEDIA/DJI_0001.MOV',
      'flight 1/Tower + antenna é.mov',
    ]);
  });

  it('a file that starts with a UTF-8 byte order mark', () => {
    // Prepare
    const text = `\uFEFF${fixture('valid-existing-asset.json')}`;

    // Act
    const manifest = parseManifest(text);

    // Assess
    expect(manifest).toEqual({ asset: { id: 915 } });
  });
});

describe('parseManifest refuses', () => {
  it.each([
    ['invalid-empty.json', 'an empty file', /^manifest\.json is empty$/],
    ['invalid-whitespace-only.json', 'a file of whitespace only', /^manifest\.json is empty$/],
    [
      'invalid-json.json',
      "invalid JSON, with the parser's message",
      /^manifest\.json is not valid JSON: .*(position|JSON)/,
    ],
    [
      'invalid-top-level-array.json',
      'an array at the top level',
      /^manifest\.json must be a JSON object, not an array$/,
    ],
    ['invalid-unknown-top-level-field.json', 'an unknown top-level field', /unknown field "flight"(;|$)/],
    ['invalid-unknown-asset-field.json', 'an unknown field in asset', /unknown field "colour" in asset/],
    [
      'invalid-unknown-parameter.json',
      'a misspelt processing parameter',
      /unknown field "detect_antenas" in processing_parameters/,
    ],
    ['invalid-asset-id-and-name.json', 'asset id and name together', /asset: give either id or name, not both/],
    ['invalid-latitude-out-of-range.json', 'a latitude out of range', /asset\.latitude: must be between -90 and 90/],
    ['invalid-bad-date.json', 'a date that is not ISO 8601', /inspection\.inspection_date: not an ISO 8601 date-time/],
    [
      'invalid-image-path-dotdot.json',
      'an image path climbing out with ".."',
      /images\[1\]: must not contain "\." or "\.\." segments/,
    ],
    ['invalid-duplicate-images.json', 'the same image twice', /images\[2\]: duplicate of images\[0\]/],
  ])('%s: %s', (name, _what, expected) => {
    // Prepare
    const text = fixture(name);

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.name).toBe('ManifestError');
    expect(error.message).toMatch(/^manifest\.json /);
    expect(error.message).toMatch(expected);
    expect(error.problems).toHaveLength(1);
  });

  it('wrong types, naming each field and what it holds', () => {
    // Prepare
    const text = fixture('invalid-wrong-types.json');

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.problems).toEqual([
      'asset.id: expected number, found a string',
      'inspection.inspection_date: expected string, found a number',
      'processing_parameters.is_video: expected boolean, found a string',
      'images: expected an array, found a string',
    ]);
    expect(error.message).toContain('inspection.inspection_date: expected string, found a number');
  });

  it('an asset with neither id nor name', () => {
    // Prepare
    const text = JSON.stringify({ asset: { type: 1, latitude: 4.02 } });

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.problems).toEqual(['asset: needs either id (an existing asset) or name']);
  });

  it('an empty images list, which would select nothing', () => {
    // Prepare
    const text = JSON.stringify({ images: [] });

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.message).toMatch(/images: must list at least one image/);
  });

  it.each([
    ['/DCIM/DJI_0001.JPG', 'must be relative to the batch folder (no leading "/")'],
    ['DCIM/./DJI_0001.JPG', 'must not contain "." or ".." segments'],
    ['DCIM//DJI_0001.JPG', 'must not contain empty segments ("//" or a trailing "/")'],
    ['DCIM/', 'must not contain empty segments ("//" or a trailing "/")'],
    ['', 'must not be empty'],
  ])('the image path %j', (path, problem) => {
    // Prepare
    const text = JSON.stringify({ images: [path] });

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.problems).toEqual([`images[0]: ${problem}`]);
  });

  it.each([
    [{ processing_parameters: { clipping_radius: -1 } }, 'processing_parameters.clipping_radius: must be >= 0'],
    [{ asset: { id: 0 } }, 'asset.id: must be a positive whole number'],
    [{ asset: { id: 915.5 } }, 'asset.id: must be a whole number'],
    [{ asset: { name: 'T', longitude: -180.5 } }, 'asset.longitude: must be between -180 and 180'],
    [{ inspection: { name: '' } }, 'inspection.name: must not be empty'],
    [
      { inspection: { inspection_date: '2026-11-28T10:00:00' } },
      'inspection.inspection_date: not an ISO 8601 date-time with zone, e.g. 2026-11-28T10:00:00Z',
    ],
    [
      { inspection: { inspection_date: '2026-02-30T10:00:00Z' } },
      'inspection.inspection_date: not an ISO 8601 date-time with zone, e.g. 2026-11-28T10:00:00Z',
    ],
  ])('out of range or malformed: %j', (manifest, problem) => {
    // Prepare
    const text = JSON.stringify(manifest);

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.problems).toEqual([problem]);
  });

  it('many problems: all in `problems`, the message short with at most 5 and a count of the rest', () => {
    // Prepare
    const text = fixture('invalid-many-problems.json');

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.problems.length).toBeGreaterThan(10);
    expect(error.problems).toContain('unknown field "notes"');
    expect(error.problems).toContain('unknown field "weather" in inspection');
    expect(error.message.length).toBeLessThanOrEqual(300);
    const listed = error.message.replace(/^manifest\.json is invalid: /, '').split('; ');
    const more = Number(/and (\d+) more$/.exec(error.message)?.[1]);
    expect(listed.length - 1).toBeLessThanOrEqual(5);
    expect(listed.length - 1 + more).toBe(error.problems.length);
  });

  it('a huge unknown field name, clipped in the message', () => {
    // Prepare
    const text = JSON.stringify({ ['x'.repeat(5_000)]: 1 });

    // Act
    const error = manifestErrorOf(text);

    // Assess
    expect(error.message.length).toBeLessThanOrEqual(300);
    expect(error.message).toMatch(/^manifest\.json is invalid: unknown field "x+…"$/);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  destinationKeyProblem,
  estimatedDestinationKeyBytes,
  MAX_DESCRIPTION_CHARS,
  MAX_INSPECTION_DESCRIPTION_CHARS,
  MAX_MANIFEST_BYTES,
  MAX_RUN_ID_CHARS,
  runIdSuffix,
} from '../../src/batch/limits';
import { folderNameProblems, ManifestError, parseManifest, parseManifestBytes } from '../../src/batch/manifest';

/**
 * The limits of manifest.json: every value bounded as Pix4Dinspect bounds it, the file UTF-8 only. The files in
 * test/fixtures/manifest-limits are the manifests as an editor would save them (UTF-16 from Notepad, Latin-1...).
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'manifest-limits');
const fixtureBytes = (name: string) => readFileSync(join(FIXTURES, name));

/** The error a parse throws; fails the test when it throws nothing or something else. */
function manifestErrorOf(parse: () => unknown): ManifestError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ManifestError) return error;
    throw error;
  }
  throw new Error('the manifest was accepted');
}

describe('manifest.json values bounded as Pix4Dinspect bounds them', () => {
  it('accepts names of 255 characters', () => {
    // Prepare
    const bytes = fixtureBytes('names-255.json');

    // Act
    const manifest = parseManifestBytes(bytes);

    // Assess
    expect(manifest.inspection?.name).toHaveLength(255);
    expect(manifest.asset && 'name' in manifest.asset ? manifest.asset.name : undefined).toHaveLength(255);
  });

  it('refuses an inspection name of 300 characters, naming the field, the limit and the size', () => {
    // Prepare
    const bytes = fixtureBytes('inspection-name-300.json');

    // Act
    const error = manifestErrorOf(() => parseManifestBytes(bytes));

    // Assess
    expect(error.problems).toEqual(['inspection.name: 300 characters, over the limit of 255']);
    expect(error.message).toBe('manifest.json is invalid: inspection.name: 300 characters, over the limit of 255');
  });

  it.each([
    [{ asset: { name: 'n'.repeat(256) } }, 'asset.name: 256 characters, over the limit of 255'],
    [{ asset: { name: '   ' } }, 'asset.name: must not be only whitespace'],
    [{ inspection: { name: ' \t ' } }, 'inspection.name: must not be only whitespace'],
    [
      { asset: { name: 'T', description: 'd'.repeat(2_001) } },
      'asset.description: 2,001 characters, over the limit of 2,000',
    ],
    [
      { inspection: { description: 'd'.repeat(1_914) } },
      'inspection.description: 1,914 characters, over the limit of 1,913 (2,000 less the run id)',
    ],
    [{ inspection: { name: 'Flight\u00001' } }, 'inspection.name: must not contain NUL characters'],
    [{ images: [`DCIM/${'é'.repeat(510)}.JPG`] }, "images[0]: 1,029 bytes, over S3's key limit of 1,024"],
  ])('refuses %j', (manifest, problem) => {
    // Prepare
    const text = JSON.stringify(manifest);

    // Act
    const error = manifestErrorOf(() => parseManifest(text));

    // Assess
    expect(error.problems).toEqual([problem]);
  });

  it('accepts every text at its limit, and an image path of 1,024 bytes', () => {
    // Prepare
    const text = JSON.stringify({
      asset: { name: 'n'.repeat(255), description: 'd'.repeat(2_000) },
      inspection: { name: 'n'.repeat(255), description: 'd'.repeat(1_913) },
      images: [`DCIM/${'é'.repeat(507)}x.JPG`],
    });

    // Act
    const manifest = parseManifest(text);

    // Assess
    expect(Buffer.byteLength(manifest.images![0]!)).toBe(1_024);
  });

  it('refuses a 5 MB description with a message naming the field, the limit and the size', () => {
    // Prepare
    const text = JSON.stringify({ inspection: { name: 'Flight 1', description: 'x'.repeat(5 * 1024 * 1024) } });

    // Act
    const error = manifestErrorOf(() => parseManifestBytes(Buffer.from(text)));

    // Assess
    expect(error.message).toBe(
      'manifest.json is invalid: inspection.description: 5,242,880 characters, over the limit of 1,913 (2,000 less the run id)',
    );
    expect(error.message.length).toBeLessThanOrEqual(300);
  });

  it("leaves room in the inspection's description for the longest run id the workflow appends", () => {
    // Prepare
    const longestSuffix = runIdSuffix('r'.repeat(MAX_RUN_ID_CHARS));

    // Act
    const longest = 'd'.repeat(MAX_INSPECTION_DESCRIPTION_CHARS) + longestSuffix;

    // Assess
    expect(longest).toHaveLength(MAX_DESCRIPTION_CHARS);
  });

  it('refuses a manifest.json above 16 MiB by its size', () => {
    // Prepare
    const bytes = Buffer.alloc(MAX_MANIFEST_BYTES + 1, ' ');

    // Act
    const error = manifestErrorOf(() => parseManifestBytes(bytes));

    // Assess
    expect(error.message).toBe('manifest.json is 16,777,217 bytes, over the limit of 16,777,216');
  });
});

describe('manifest.json encoding', () => {
  it.each([
    ['utf16le-bom.json', 'UTF-16 little endian with a byte order mark (Notepad "Unicode")'],
    ['utf16be-bom.json', 'UTF-16 big endian with a byte order mark'],
    ['utf16le-no-bom.json', 'UTF-16 without a byte order mark (zero bytes between the characters)'],
  ])('%s, %s: refused as UTF-16', (name) => {
    // Prepare
    const bytes = fixtureBytes(name);

    // Act
    const error = manifestErrorOf(() => parseManifestBytes(bytes));

    // Assess
    expect(error.message).toBe('manifest.json must be UTF-8 (found UTF-16)');
    expect(error.name).toBe('ManifestError');
  });

  it('refuses UTF-32 by name', () => {
    // Prepare
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x00, 0x7b, 0x00, 0x00, 0x00, 0x7d, 0x00, 0x00, 0x00]);

    // Act
    const error = manifestErrorOf(() => parseManifestBytes(bytes));

    // Assess
    expect(error.message).toBe('manifest.json must be UTF-8 (found UTF-32)');
  });

  it('refuses Latin-1 naming the offset of the first byte that is not UTF-8 (from 0, as hex viewers count)', () => {
    // Prepare: "é" of "Tour été" is the single byte 0xE9 at offset 29
    const bytes = fixtureBytes('latin1.json');

    // Act
    const error = manifestErrorOf(() => parseManifestBytes(bytes));

    // Assess
    expect(bytes[29]).toBe(0xe9);
    expect(error.message).toBe('manifest.json must be UTF-8 (found invalid UTF-8 at byte 29)');
  });

  it.each([
    [
      'a truncated sequence at the end',
      Buffer.concat([Buffer.from('{"asset":{"name":"T"}}'), Buffer.from([0xe2, 0x82])]),
      22,
    ],
    ['an overlong "/"', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), 6],
    [
      'an encoded surrogate',
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
      6,
    ],
  ])('refuses %s', (_what, bytes, offset) => {
    // Prepare: the bytes

    // Act
    const error = manifestErrorOf(() => parseManifestBytes(bytes));

    // Assess
    expect(error.message).toBe(`manifest.json must be UTF-8 (found invalid UTF-8 at byte ${offset})`);
  });

  it('accepts a UTF-8 byte order mark and ignores it', () => {
    // Prepare
    const bytes = fixtureBytes('utf8-bom.json');

    // Act
    const manifest = parseManifestBytes(bytes);

    // Assess
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(manifest).toEqual({ inspection: { name: 'Flight 1' } });
  });

  it('reads UTF-8 text beyond ASCII as it is', () => {
    // Prepare
    const bytes = Buffer.from(JSON.stringify({ asset: { name: 'Tour été 東京 🗼' } }));

    // Act
    const manifest = parseManifestBytes(bytes);

    // Assess
    expect(manifest).toEqual({ asset: { name: 'Tour été 東京 🗼' } });
  });
});

describe('folder names that stand in for names', () => {
  it('checks the folders the manifest does not replace, naming the field that would', () => {
    // Prepare
    const folders = { assetName: 'a'.repeat(300), flightName: 'f'.repeat(256) };

    // Act
    const withoutNames = folderNameProblems({}, folders);
    const withNames = folderNameProblems({ asset: { name: 'Tower 1' }, inspection: { name: 'Flight 1' } }, folders);
    const byId = folderNameProblems({ asset: { id: 915 } }, { assetName: 'a'.repeat(300), flightName: 'flight-1' });

    // Assess
    expect(withoutNames).toEqual([
      `the asset folder name "${'a'.repeat(39)}…", used as asset.name: 300 characters, over the limit of 255 (set asset.name in manifest.json)`,
      `the flight folder name "${'f'.repeat(39)}…", used as inspection.name: 256 characters, over the limit of 255 (set inspection.name in manifest.json)`,
    ]);
    expect(withNames).toEqual([]);
    expect(byId).toEqual([]);
  });
});

describe("keys in Inspect's bucket", () => {
  it('gives the skip reason of a key above 1,024 bytes only', () => {
    // Prepare: sizes

    // Act
    const atLimit = destinationKeyProblem(1_024);
    const over = destinationKeyProblem(1_102);
    const estimated = destinationKeyProblem(estimatedDestinationKeyBytes('p'.repeat(1_000)), { estimated: true });

    // Assess
    expect(atLimit).toBeUndefined();
    expect(over).toBe("key too long for Inspect's bucket: 1,102 bytes with Inspect's prefix (limit 1,024)");
    expect(estimated).toBe("key too long for Inspect's bucket: about 1,061 bytes with Inspect's prefix (limit 1,024)");
  });
});

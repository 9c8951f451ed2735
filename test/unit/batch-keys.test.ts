import { describe, expect, it } from 'vitest';
import { decodeEventKey, InvalidEventKeyError, isManifest, locateBatch, MANIFEST_FILE } from '../../src/batch/keys';

/** Keys of the drop bucket: S3 event decoding and the batch an object belongs to. */

/** What `act` throws; undefined when it returns. */
function errorThrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('decodeEventKey', () => {
  it.each([
    ['tower-123/flight-1/DCIM/DJI_0001.JPG', 'tower-123/flight-1/DCIM/DJI_0001.JPG'],
    ['Tower+123/Flight+1/photo+one.jpg', 'Tower 123/Flight 1/photo one.jpg'],
    ['tower-123/flight-1/Tower%2Bantenna.jpg', 'tower-123/flight-1/Tower+antenna.jpg'],
    ['tower-123/flight-1/a+%2B+b.jpg', 'tower-123/flight-1/a + b.jpg'],
    ['tower-123/flight-1/100%25+zoom.jpg', 'tower-123/flight-1/100% zoom.jpg'],
    ['tower-123/flight-1/%252B.jpg', 'tower-123/flight-1/%2B.jpg'],
    ['tour-%C3%A9/vol-1/caf%C3%A9.jpg', 'tour-é/vol-1/café.jpg'],
    ['tower-123/flight-1/%F0%9F%9A%81+drone.jpg', 'tower-123/flight-1/🚁 drone.jpg'],
    ['%E5%A1%94/%E9%A3%9E%E8%A1%8C/1.jpg', '塔/飞行/1.jpg'],
  ])('decodes %s', (encoded, expected) => {
    // Prepare
    const input = encoded;

    // Act
    const key = decodeEventKey(input);

    // Assess
    expect(key).toBe(expected);
  });

  it.each([
    ['a stray percent sign', 'tower-123/flight-1/100%.jpg'],
    ['a truncated escape', 'tower-123/flight-1/photo%2'],
    ['a non-hex escape', 'tower-123/flight-1/%zz.jpg'],
    ['an invalid UTF-8 sequence', 'tower-123/flight-1/%C3.jpg'],
  ])('refuses %s with InvalidEventKeyError naming the key', (_what, encoded) => {
    // Prepare
    const decode = () => decodeEventKey(encoded);

    // Act
    const error = errorThrownBy(decode);

    // Assess
    expect(error).toBeInstanceOf(InvalidEventKeyError);
    expect((error as InvalidEventKeyError).name).toBe('InvalidEventKeyError');
    expect((error as InvalidEventKeyError).message).toContain(encoded);
    expect((error as InvalidEventKeyError).encodedKey).toBe(encoded);
  });
});

describe('locateBatch', () => {
  it('at the default depth 2: asset, flight and the path below', () => {
    // Prepare
    const key = 'tower-123/flight-1/DJI_0001.JPG';

    // Act
    const location = locateBatch(key);

    // Assess
    expect(location).toEqual({
      prefix: 'tower-123/flight-1/',
      assetName: 'tower-123',
      flightName: 'flight-1',
      relativePath: 'DJI_0001.JPG',
    });
  });

  it('keeps sub-folders in the relative path, so equal file names stay apart', () => {
    // Prepare
    const keys = ['tower-123/flight-1/DCIM/100MEDIA/DJI_0001.JPG', 'tower-123/flight-1/DCIM/101MEDIA/DJI_0001.JPG'];

    // Act
    const locations = keys.map((key) => locateBatch(key, 2));

    // Assess
    expect(locations.map((location) => location?.prefix)).toEqual(['tower-123/flight-1/', 'tower-123/flight-1/']);
    expect(locations.map((location) => location?.relativePath)).toEqual([
      'DCIM/100MEDIA/DJI_0001.JPG',
      'DCIM/101MEDIA/DJI_0001.JPG',
    ]);
  });

  it('keeps spaces, "+" and unicode of decoded keys', () => {
    // Prepare
    const key = 'Tower 123/Flight + 1/café 🚁.jpg';

    // Act
    const location = locateBatch(key);

    // Assess
    expect(location).toEqual({
      prefix: 'Tower 123/Flight + 1/',
      assetName: 'Tower 123',
      flightName: 'Flight + 1',
      relativePath: 'café 🚁.jpg',
    });
  });

  it('at depth 1: the asset is also the flight', () => {
    // Prepare
    const key = 'tower-123/DCIM/DJI_0001.JPG';

    // Act
    const location = locateBatch(key, 1);

    // Assess
    expect(location).toEqual({
      prefix: 'tower-123/',
      assetName: 'tower-123',
      flightName: 'tower-123',
      relativePath: 'DCIM/DJI_0001.JPG',
    });
  });

  it('at depth 3: the flight is the third segment', () => {
    // Prepare
    const key = 'site-a/tower-123/2026-11-28/DCIM/DJI_0001.JPG';

    // Act
    const location = locateBatch(key, 3);

    // Assess
    expect(location).toEqual({
      prefix: 'site-a/tower-123/2026-11-28/',
      assetName: 'site-a',
      flightName: '2026-11-28',
      relativePath: 'DCIM/DJI_0001.JPG',
    });
  });

  it.each([
    ['too shallow', 'tower-123/photo.jpg', 2],
    ['at the top level', 'photo.jpg', 2],
    ['too shallow at depth 3', 'site-a/tower-123/photo.jpg', 3],
    ['a folder marker of the batch', 'tower-123/flight-1/', 2],
    ['a folder marker inside the batch', 'tower-123/flight-1/DCIM/', 2],
    ['a folder marker of the asset', 'tower-123/', 2],
    ['an empty asset segment', '/flight-1/photo.jpg', 2],
    ['an empty flight segment', 'tower-123//photo.jpg', 2],
    ['an empty key', '', 1],
  ])('is undefined for %s (%j)', (_what, key, depth) => {
    // Prepare
    const input = key;

    // Act
    const location = locateBatch(input, depth);

    // Assess
    expect(location).toBeUndefined();
  });

  it.each([0, -1, 1.5])('refuses the depth %d', (depth) => {
    // Prepare
    const locate = () => locateBatch('tower-123/flight-1/photo.jpg', depth);

    // Act
    const error = errorThrownBy(locate);

    // Assess
    expect(error).toBeInstanceOf(RangeError);
  });
});

describe('isManifest', () => {
  it.each([
    ['tower-123/flight-1/manifest.json', true],
    ['tower-123/flight-1/DCIM/manifest.json', false],
    ['tower-123/flight-1/Manifest.json', false],
    ['tower-123/flight-1/manifest.JSON', false],
    ['tower-123/flight-1/manifest.json.bak', false],
    ['tower-123/flight-1/DJI_0001.JPG', false],
  ])('%s -> %s', (key, expected) => {
    // Prepare
    const location = locateBatch(key);

    // Act
    const manifest = location !== undefined && isManifest(location);

    // Assess
    expect(location).toBeDefined();
    expect(manifest).toBe(expected);
  });

  it('at depth 1, the manifest sits in the asset folder', () => {
    // Prepare
    const location = locateBatch(`tower-123/${MANIFEST_FILE}`, 1);

    // Act
    const manifest = location !== undefined && isManifest(location);

    // Assess
    expect(manifest).toBe(true);
  });
});

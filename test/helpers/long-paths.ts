/**
 * A relative path of exactly `bytes` UTF-8 bytes ending in `/<fileName>`, for keys near S3's 1,024-byte limit.
 * Its folders hold at most 199 characters: the embedded S3 server stores objects as files, whose names hold 255
 * bytes.
 */
export function relativePathOfBytes(bytes: number, fileName: string, letter = 'f'): string {
  const folderBytes = bytes - fileName.length;
  const folders = Math.ceil(folderBytes / 200);
  if (folderBytes < 2 * folders) throw new RangeError(`no path of ${bytes} bytes ends in /${fileName}`);
  const base = Math.floor(folderBytes / folders);
  const extra = folderBytes % folders;
  // Each folder takes its characters and its "/".
  const names = Array.from({ length: folders }, (_, index) => letter.repeat(base + (index < extra ? 1 : 0) - 1));
  const path = `${names.join('/')}/${fileName}`;
  if (Buffer.byteLength(path) !== bytes) throw new RangeError(`built ${Buffer.byteLength(path)} bytes, not ${bytes}`);
  return path;
}

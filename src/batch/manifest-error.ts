import { MANIFEST_FILE } from './keys';

/** Messages travel into notifications and e-mail subjects: keep them short. */
export const MAX_MESSAGE_LENGTH = 300;

/** manifest.json cannot be used; `problems` names each problem found. */
export class ManifestError extends Error {
  // A fixed string: Step Functions Retry/Catch match on it, and bundlers rename classes.
  override name = 'ManifestError';

  /** @param headline what follows `manifest.json ` in the message, e.g. `is empty` */
  constructor(
    readonly problems: string[],
    headline: string,
    options?: { cause?: unknown },
  ) {
    super(clip(`${MANIFEST_FILE} ${headline}`, MAX_MESSAGE_LENGTH), options);
  }
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

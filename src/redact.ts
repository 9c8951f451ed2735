/** Anything shaped like a JWT (header.payload.signature, base64url, header starting `{"`). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

/** Short values would blank out ordinary words; no credential we handle is this short. */
const MIN_SECRET_LENGTH = 4;

/**
 * Removes the given secret values and anything shaped like a JWT from a text that is about to leave the process
 * (an error message, a log line, a notification).
 */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
  let result = text.replace(JWT_PATTERN, '[redacted JWT]');
  for (const secret of secrets) {
    if (secret && secret.length >= MIN_SECRET_LENGTH) result = result.split(secret).join('[redacted]');
  }
  return result;
}

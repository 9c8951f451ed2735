import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** Why a token was refused, in the words of the service's 401 answers. */
export type TokenProblem = 'malformed' | 'bad signature' | 'expired';

export interface TokenClaims {
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/** HS256 JWTs, so that tokens look and fail like the real service's (and leak checks can recognise them). */
export class TokenIssuer {
  private readonly key = randomBytes(32);

  issue(subject: string, lifetimeSeconds: number, now = Date.now()): string {
    // NumericDate may be fractional (RFC 7519): sub-second precision keeps short test lifetimes exact.
    const iat = now / 1000;
    const claims: TokenClaims = { sub: subject, iat, exp: iat + lifetimeSeconds, jti: randomUUID() };
    const head = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
    return `${head}.${this.sign(head)}`;
  }

  verify(token: string, now = Date.now()): TokenClaims | TokenProblem {
    const parts = token.split('.');
    if (parts.length !== 3) return 'malformed';
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad signature';
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return 'malformed';
    }
    return now >= claims.exp * 1000 ? 'expired' : claims;
  }

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

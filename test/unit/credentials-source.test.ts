import { describe, expect, it } from 'vitest';
import { InspectionCredentials, UNVERIFIED_USE_MS } from '../../src/copy/credentials-source';
import {
  answerValidFor,
  type CredentialsAnswer,
  FakeCredentialsApi,
  ManualClock,
  TUTORIAL_CREDENTIALS_ANSWER,
} from '../helpers/fake-credentials-api';

/**
 * When the inspection's credentials source asks Pix4Dinspect for S3 credentials, judged by the calls a fake API
 * counts: expiry is read on the service's clock (`server_time`), answers that are already expired are not asked for
 * photo after photo, and neither concurrency nor S3's refusals multiply the requests.
 */

const INSPECTION_ID = 1417;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The tutorial's answer, with an access key of its own for each call so that answers can be told apart. */
const tutorialAnswer = (call: number): CredentialsAnswer => ({
  ...TUTORIAL_CREDENTIALS_ANSWER,
  access_key: `ASIATUTORIAL${String(call).padStart(4, '0')}`,
});

/** A source on a manual clock whose API answers each call with `answer(call, serverTime)`. */
function sourceOf(
  answer: (call: number, serverTime: Date) => CredentialsAnswer | Error,
  options: { refreshMarginMs?: number } = {},
) {
  const clock = new ManualClock();
  const api = new FakeCredentialsApi((call) => answer(call, clock.now()), clock);
  const credentials = new InspectionCredentials(api, INSPECTION_ID, { ...options, now: clock.now });
  return { clock, api, credentials };
}

describe("credentials the service's own clock says have expired", () => {
  it("asks once more for the tutorial's example answer, then uses the replacement for 15 minutes whatever the number of photos", async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call) => tutorialAnswer(call));

    // Act
    const first = await credentials.current();
    const perPhoto = [];
    for (let photo = 0; photo < 500; photo += 1) perPhoto.push(await credentials.current());
    clock.advance(UNVERIFIED_USE_MS - 1);
    const lastOfWindow = await credentials.current();
    const callsInWindow = api.calls.length;
    clock.advance(1);
    const nextWindow = await Promise.all(Array.from({ length: 100 }, () => credentials.current()));

    // Assess
    expect(first.accessKeyId).toBe('ASIATUTORIAL0001');
    expect(first.lifetimeMs).toBe(-(8.5 * 24 * HOUR + 357));
    expect(new Set([...perPhoto, lastOfWindow])).toEqual(new Set([first]));
    expect(callsInWindow).toBe(2);
    // The answer after the window is expired too: it is not asked for twice again.
    expect(api.calls.length).toBe(3);
    expect(new Set(nextWindow.map((used) => used.accessKeyId))).toEqual(new Set(['ASIATUTORIAL0002']));
    expect(credentials.isDue(first)).toBe(true);
  });

  it('keeps a valid replacement of an expired answer until its own refresh margin', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call, serverTime) =>
      call === 0 ? tutorialAnswer(call) : answerValidFor(HOUR, serverTime, call),
    );

    // Act
    const replacement = await credentials.current();
    clock.advance(55 * MINUTE - 1);
    const beforeMargin = await credentials.current();
    const callsBeforeMargin = api.calls.length;
    clock.advance(1);
    const afterMargin = await credentials.current();

    // Assess
    expect(replacement.accessKeyId).toBe('ASIAFAKE000001');
    expect(beforeMargin).toBe(replacement);
    expect(callsBeforeMargin).toBe(2);
    expect(afterMargin.accessKeyId).toBe('ASIAFAKE000002');
    expect(api.calls.length).toBe(3);
  });

  it('asks once more for credentials whose lifetime is shorter than the margin, then uses them until they expire', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call, serverTime) => answerValidFor(5 * MINUTE, serverTime, call), {
      refreshMarginMs: 10 * MINUTE,
    });

    // Act
    const used = await credentials.current();
    clock.advance(5 * MINUTE - 1);
    const untilExpiry = await credentials.current();
    const callsBeforeExpiry = api.calls.length;
    clock.advance(1);
    const atExpiry = await credentials.current();

    // Assess
    expect(used.accessKeyId).toBe('ASIAFAKE000001');
    expect(untilExpiry).toBe(used);
    expect(callsBeforeExpiry).toBe(2);
    expect(atExpiry.accessKeyId).toBe('ASIAFAKE000002');
    expect(api.calls.length).toBe(3);
  });

  it('keeps the expired answer when asking once more fails, for S3 to judge', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call) =>
      call === 0 ? tutorialAnswer(call) : new Error('service unavailable'),
    );

    // Act
    const used = await credentials.current();
    clock.advance(UNVERIFIED_USE_MS - 1);
    const later = await credentials.current();

    // Assess
    expect(used.accessKeyId).toBe('ASIATUTORIAL0000');
    expect(later).toBe(used);
    expect(api.calls.length).toBe(2);
  });
});

describe('credentials with a lifetime ahead', () => {
  it('asks once for one-hour credentials, and again 5 minutes before they expire', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call, serverTime) => answerValidFor(HOUR, serverTime, call));

    // Act
    const first = await credentials.current();
    for (let photo = 0; photo < 200; photo += 1) await credentials.current();
    clock.advance(55 * MINUTE - 1);
    const beforeMargin = await credentials.current();
    const callsBeforeMargin = api.calls.length;
    clock.advance(1);
    const afterMargin = await credentials.current();

    // Assess
    expect(beforeMargin).toBe(first);
    expect(callsBeforeMargin).toBe(1);
    expect(afterMargin).not.toBe(first);
    expect(api.calls).toEqual([INSPECTION_ID, INSPECTION_ID]);
  });

  it('judges expiry on the service clock, not on the local one', async () => {
    // Prepare: the service's clock is a day ahead of the local one.
    const { clock, api, credentials } = sourceOf((call, localTime) =>
      answerValidFor(HOUR, new Date(localTime.getTime() + 24 * HOUR), call),
    );

    // Act
    const first = await credentials.current();
    clock.advance(54 * MINUTE);
    const later = await credentials.current();

    // Assess
    expect(later).toBe(first);
    expect(api.calls.length).toBe(1);
  });

  it('replaces short-lived credentials a quarter of their lifetime early, not at once', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call, serverTime) => answerValidFor(4_000, serverTime, call));

    // Act
    const first = await credentials.current();
    clock.advance(2_999);
    const beforeMargin = await credentials.current();
    const callsBeforeMargin = api.calls.length;
    clock.advance(1);
    const afterMargin = await credentials.current();

    // Assess
    expect(beforeMargin).toBe(first);
    expect(callsBeforeMargin).toBe(1);
    expect(afterMargin.accessKeyId).toBe('ASIAFAKE000001');
    expect(api.calls.length).toBe(2);
  });

  it('shares one request between 100 concurrent callers', async () => {
    // Prepare
    const { api, credentials } = sourceOf((call, serverTime) => answerValidFor(HOUR, serverTime, call));

    // Act
    const together = await Promise.all(Array.from({ length: 100 }, () => credentials.current()));

    // Assess
    expect(new Set(together).size).toBe(1);
    expect(api.calls.length).toBe(1);
    expect(credentials.fetches).toBe(1);
  });

  it("shares the tutorial answer's one extra request between 100 concurrent callers", async () => {
    // Prepare
    const { api, credentials } = sourceOf((call) => tutorialAnswer(call));

    // Act
    const together = await Promise.all(Array.from({ length: 100 }, () => credentials.current()));

    // Assess
    expect(new Set(together.map((used) => used.accessKeyId))).toEqual(new Set(['ASIATUTORIAL0001']));
    expect(api.calls.length).toBe(2);
  });

  it('gives the error of a failed request to every waiting caller, and asks again on the next call', async () => {
    // Prepare
    const { api, credentials } = sourceOf((call, serverTime) =>
      call === 0 ? new Error('service unavailable') : answerValidFor(HOUR, serverTime, call),
    );

    // Act
    const together = await Promise.allSettled(Array.from({ length: 10 }, () => credentials.current()));
    const next = await credentials.current();

    // Assess
    expect(
      together.every(
        (outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message === 'service unavailable',
      ),
    ).toBe(true);
    expect(next.accessKeyId).toBe('ASIAFAKE000001');
    expect(api.calls.length).toBe(2);
  });
});

describe('refusals by S3', () => {
  it('replaces refused credentials once for 100 concurrent refusals, and the replacement not again before it is due', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call, serverTime) => answerValidFor(HOUR, serverTime, call));
    const refused = await credentials.current();

    // Act
    const replacements = await Promise.all(Array.from({ length: 100 }, () => credentials.refresh(refused)));
    const [replacement] = replacements;
    const refusedAgain = await Promise.all(Array.from({ length: 100 }, () => credentials.refresh(replacement)));
    const callsInWindow = api.calls.length;
    clock.advance(55 * MINUTE);
    const nextWindow = await credentials.current();
    const refusedInNextWindow = await credentials.refresh(nextWindow);

    // Assess
    expect(new Set(replacements).size).toBe(1);
    expect(replacement).not.toBe(refused);
    expect(new Set(refusedAgain)).toEqual(new Set([replacement]));
    expect(callsInWindow).toBe(2);
    expect(nextWindow).not.toBe(replacement);
    expect(refusedInNextWindow).not.toBe(nextWindow);
    expect(api.calls.length).toBe(4);
  });

  it('replaces refused tutorial credentials once per 15 minutes', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call) => tutorialAnswer(call));
    const used = await credentials.current();

    // Act
    const replacement = await credentials.refresh(used);
    const refusedAgain = await credentials.refresh(replacement);
    const afterPhotos = await Promise.all(Array.from({ length: 100 }, () => credentials.current()));
    const callsInWindow = api.calls.length;
    clock.advance(UNVERIFIED_USE_MS);
    const nextWindow = await credentials.current();

    // Assess
    expect(used.accessKeyId).toBe('ASIATUTORIAL0001');
    expect(replacement.accessKeyId).toBe('ASIATUTORIAL0002');
    expect(refusedAgain).toBe(replacement);
    expect(new Set(afterPhotos)).toEqual(new Set([replacement]));
    expect(callsInWindow).toBe(3);
    expect(nextWindow.accessKeyId).toBe('ASIATUTORIAL0003');
    expect(api.calls.length).toBe(4);
  });

  it('returns the replacement without a request when the refused credentials were already replaced', async () => {
    // Prepare
    const { clock, api, credentials } = sourceOf((call, serverTime) => answerValidFor(HOUR, serverTime, call));
    const old = await credentials.current();
    clock.advance(55 * MINUTE);
    const current = await credentials.current();

    // Act
    const answer = await credentials.refresh(old);

    // Assess
    expect(answer).toBe(current);
    expect(api.calls.length).toBe(2);
  });
});

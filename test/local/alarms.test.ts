import { describe, expect, it } from 'vitest';
import type { LocalPipelineEvent } from '../../local/pipeline/local-pipeline';
import { type AlarmDefinition, alarmDefinitions } from '../helpers/alarm-definitions';
import { alarmsInAlarm, observeLocalRun } from '../helpers/alarm-evaluator';
import { dropFlight, photos } from '../helpers/flights';
import { localPipelinesPerTest } from '../helpers/local-pipelines';

/**
 * The template's alarms judged against what CloudWatch would see of a local run: a person's invalid manifest pages
 * nobody (the notification tells them), a Pix4Dinspect outage that fails a run pages once, a processing timeout
 * pages as a timeout and not as a failure.
 */

const start = localPipelinesPerTest({ quietPeriodSeconds: 0, simulatorSettings: { processingSeconds: 0.3 } });

const watches = (alarm: AlarmDefinition, name: string, dimensions: Record<string, string> = {}) =>
  alarm.metrics.some(
    (metric) =>
      metric.name === name && Object.entries(dimensions).every(([key, value]) => metric.dimensions[key] === value),
  );

describe('alarms, judged on local runs', () => {
  it('raises none for an invalid manifest: the run ends "Input refused", its failure counted with cause input', async () => {
    // Prepare
    const events: LocalPipelineEvent[] = [];
    const local = await start({ onEvent: (event) => events.push(event) });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-alarm/flight-manifest/', photos(2), { colour: 'red' });
    await local.settle();

    // Assess
    expect(local.notifications.map((message) => message.type)).toEqual(['inspection.failed']);
    const inspection = local.executions.find((execution) => execution.machine === 'inspection')!;
    expect(inspection.status).toBe('succeeded');
    expect(events).toContainEqual({
      event: 'state',
      machine: 'inspection',
      execution: inspection.name,
      state: 'Input refused',
    });
    const failures = local.metrics.records.filter((record) => record.name === 'InspectionsFailed');
    expect(failures.map((record) => record.dimensions.cause)).toEqual(['input']);
    expect(
      alarmsInAlarm(alarmDefinitions(local.stack.template), observeLocalRun(local, events)).map(
        (alarm) => alarm.logicalId,
      ),
    ).toEqual([]);
  }, 60_000);

  it('raises the system-failure alarm, once, when a Pix4Dinspect outage fails a run', async () => {
    // Prepare: every API request answered 502/503/504; the functions' time runs 60 times faster, so the client's
    // retries and the steps' run out in seconds
    const events: LocalPipelineEvent[] = [];
    const local = await start({
      timeScale: 60,
      simulatorSettings: { errorRate: 1 },
      onEvent: (event) => events.push(event),
    });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-alarm/flight-outage/', photos(2), {});
    await local.settle();

    // Assess
    expect(local.notifications.map((message) => message.type)).toEqual(['inspection.failed']);
    expect(local.executions.find((execution) => execution.machine === 'inspection')!.status).toBe('failed');
    const failures = local.metrics.records.filter((record) => record.name === 'InspectionsFailed');
    expect(failures.map((record) => record.dimensions.cause)).toEqual(['system']);
    const ringing = alarmsInAlarm(alarmDefinitions(local.stack.template), observeLocalRun(local, events));
    expect(ringing).toHaveLength(1);
    expect(watches(ringing[0]!, 'InspectionsFailed', { cause: 'system' })).toBe(true);
  }, 90_000);

  it('raises the timed-out alarm, and not the system-failure one, when processing passes its deadline', async () => {
    // Prepare
    const events: LocalPipelineEvent[] = [];
    const local = await start({
      simulatorSettings: { processingOutcome: 'never' },
      deadlineSeconds: 1.5,
      onEvent: (event) => events.push(event),
    });

    // Act
    await dropFlight(local.s3, local.dropBucket, 'tower-alarm/flight-timeout/', photos(2), {});
    await local.settle();

    // Assess
    expect(local.notifications.map((message) => message.type)).toEqual(['inspection.timed_out']);
    expect(local.executions.find((execution) => execution.machine === 'inspection')!.status).toBe('succeeded');
    const ringing = alarmsInAlarm(alarmDefinitions(local.stack.template), observeLocalRun(local, events));
    expect(ringing).toHaveLength(1);
    expect(watches(ringing[0]!, 'InspectionsTimedOut')).toBe(true);
  }, 60_000);
});

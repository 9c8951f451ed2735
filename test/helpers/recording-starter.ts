import type { WorkflowStarter } from '../../src/ingest/ingest';

export interface RecordedStart {
  readonly machine: 'inspection' | 'waiter';
  readonly name: string;
  readonly input: object;
  readonly result: 'started' | 'already-started';
}

/**
 * An in-memory `WorkflowStarter` that behaves like Step Functions for names: a name already used on a machine is
 * refused ('already-started'). Every call is recorded, in order.
 */
export class RecordingStarter implements WorkflowStarter {
  readonly calls: RecordedStart[] = [];
  private readonly used = new Set<string>();

  async start(machine: 'inspection' | 'waiter', name: string, input: object): Promise<'started' | 'already-started'> {
    const id = `${machine}\u0000${name}`;
    const result = this.used.has(id) ? 'already-started' : 'started';
    this.used.add(id);
    this.calls.push({ machine, name, input: structuredClone(input), result });
    return result;
  }

  /** The executions actually started (first use of each name). */
  get started(): RecordedStart[] {
    return this.calls.filter((call) => call.result === 'started');
  }
}

import type { LocalRole, PolicyStatement, SynthesizedStack } from '../../local/pipeline/synthesized-stack';

/**
 * The stack with one action on one resource taken out of the role of `holder` (`function copy`, `state machine
 * inspection`...), as if the grant had been deleted from lib/. Throws when the role has no such grant, so that a test
 * cannot pass by removing nothing.
 */
export function withoutGrant(
  stack: SynthesizedStack,
  holder: string,
  action: string,
  resource: string,
): SynthesizedStack {
  const role = [...stack.roles.values()].find((candidate) => candidate.usedBy === holder);
  if (!role) throw new Error(`The stack has no role of ${holder}`);
  let removed = 0;
  const policies = role.policies.map(({ name, document }) => ({
    name,
    document: {
      ...document,
      Statement: document.Statement.flatMap((statement): PolicyStatement[] => {
        const actions = list(statement.Action);
        const resources = list(statement.Resource);
        if (statement.Effect !== 'Allow' || !actions.includes(action) || !resources.includes(resource))
          return [statement];
        removed += 1;
        // What the statement granted, less that one pair.
        const otherActions = actions.filter((candidate) => candidate !== action);
        const otherResources = resources.filter((candidate) => candidate !== resource);
        return [
          ...(otherActions.length > 0 ? [{ ...statement, Action: otherActions }] : []),
          ...(otherResources.length > 0 ? [{ ...statement, Action: [action], Resource: otherResources }] : []),
        ];
      }),
    },
  }));
  if (removed === 0) throw new Error(`The role of ${holder} does not grant ${action} on ${resource}`);
  const roles = new Map(stack.roles);
  roles.set(role.arn, { ...role, policies } satisfies LocalRole);
  return { ...stack, roles };
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

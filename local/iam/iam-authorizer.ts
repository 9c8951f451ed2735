import {
  runSimulation,
  type Simulation,
  type SingleResourceSimulationResult,
  type StatementExplain,
} from '@cloud-copilot/iam-simulate';
import {
  LOCAL_ACCOUNT,
  type LocalRole,
  type PolicyDocument,
  type PolicyStatement,
} from '../pipeline/synthesized-stack';
import type { IamRequest } from './aws-actions';

/** Who makes a call: a role of the stack, in a session named after the function or state machine. */
export interface Caller {
  readonly roleArn: string;
  /** The session name AWS would show (`assumed-role/<role>/<session>`): the function's name. */
  readonly sessionName: string;
}

export interface Decision {
  readonly allowed: boolean;
  /** AWS's wording of a refusal: who, which action, which resource and why. */
  readonly message: string;
}

/** One action pattern on one resource pattern of one Allow statement of a role's inline policy. */
export interface Grant {
  readonly roleArn: string;
  /** What assumes the role (`function copy`, `state machine inspection`...). */
  readonly usedBy: string;
  readonly policy: string;
  readonly statement: number;
  readonly action: string;
  readonly resource: string;
}

export interface AuthorizerSource {
  readonly roles: ReadonlyMap<string, LocalRole>;
  readonly resourcePolicies: ReadonlyMap<string, PolicyDocument>;
}

/** A call IAM refused: who made it, what it asked, and AWS's message. */
export interface RefusedCall {
  readonly caller: string;
  readonly action: string;
  readonly resource: string;
  readonly message: string;
}

interface CachedDecision extends Decision {
  readonly used: readonly string[];
}

/**
 * Evaluates calls against the identity policies of the caller's role and the resource's policy, as synthesized,
 * with a kept IAM policy evaluator (@cloud-copilot/iam-simulate: actions, resource types, wildcards, conditions).
 * It remembers which grant allowed each call, so that grants no call used can be listed.
 */
export class IamAuthorizer {
  private readonly cache = new Map<string, Promise<CachedDecision>>();
  private readonly usedGrants = new Set<string>();
  private readonly refusals: RefusedCall[] = [];

  constructor(private readonly source: AuthorizerSource) {}

  /** Whether `caller` may make `request`, as IAM would decide it. */
  async authorize(caller: Caller, request: IamRequest): Promise<Decision> {
    const key = JSON.stringify([caller.roleArn, request.action, request.resource, request.context]);
    let decision = this.cache.get(key);
    if (!decision) {
      decision = this.evaluate(caller, request);
      this.cache.set(key, decision);
    }
    const { allowed, message, used } = await decision;
    for (const grant of used) this.usedGrants.add(grant);
    if (allowed) return { allowed, message };
    const refusal = message.replace('{session}', caller.sessionName);
    const holder = this.source.roles.get(caller.roleArn)?.usedBy ?? caller.roleArn;
    this.refusals.push({ caller: holder, action: request.action, resource: request.resource, message: refusal });
    return { allowed, message: refusal };
  }

  /** Every call refused so far, in order: a run that should succeed has none. */
  refused(): readonly RefusedCall[] {
    return [...this.refusals];
  }

  /**
   * Whether an AWS service may make `request` on its own behalf (S3 sending a bucket's notifications to a queue):
   * only the resource's policy can allow it.
   */
  async authorizeService(servicePrincipal: string, request: IamRequest): Promise<Decision> {
    const outcome = await this.simulate(servicePrincipal, [], request, {});
    if (outcome.overallResult === 'Allowed') return { allowed: true, message: 'allowed' };
    const message = `${servicePrincipal} is not authorized to perform: ${request.action} on resource: "${request.resource}": no statement of its resource policy allows it`;
    this.refusals.push({ caller: servicePrincipal, action: request.action, resource: request.resource, message });
    return { allowed: false, message };
  }

  /** Every grant of every role's inline policies. */
  grants(): Grant[] {
    const grants: Grant[] = [];
    for (const role of this.source.roles.values()) {
      for (const { name, document } of role.policies) {
        document.Statement.forEach((statement, index) => {
          if (statement.Effect !== 'Allow') return;
          for (const action of list(statement.Action ?? statement.NotAction)) {
            for (const resource of list(statement.Resource ?? statement.NotResource)) {
              grants.push({ roleArn: role.arn, usedBy: role.usedBy, policy: name, statement: index, action, resource });
            }
          }
        });
      }
    }
    return grants;
  }

  /** Keys (`grantKey`) of the grants that allowed at least one call so far. */
  used(): string[] {
    return [...this.usedGrants];
  }

  private async evaluate(caller: Caller, request: IamRequest): Promise<CachedDecision> {
    const role = this.source.roles.get(caller.roleArn);
    if (!role) throw new Error(`Local mode knows no role ${caller.roleArn}`);
    const { account } = LOCAL_ACCOUNT;
    const outcome = await this.simulate(
      role.arn,
      role.policies.map(({ name, document }) => ({ name, policy: document })),
      request,
      // A deployed function's calls come from the stack's own account and region.
      { 'aws:PrincipalArn': role.arn, 'aws:PrincipalAccount': account, 'aws:RequestedRegion': LOCAL_ACCOUNT.region },
    );
    const analysis = outcome.result.analysis;
    const allowed = outcome.overallResult === 'Allowed';
    const used: string[] = [];
    if (allowed) {
      for (const allow of analysis.identityAnalysis?.allowStatements ?? []) {
        const policy = role.policies.find((candidate) => candidate.name === allow.policyId);
        if (!policy) continue;
        const index = statementIndex(policy.document.Statement, allow.explain.identifier);
        for (const action of matched(allow.explain, 'actions', policy.document.Statement[index]?.Action)) {
          for (const resource of matched(allow.explain, 'resources', policy.document.Statement[index]?.Resource)) {
            used.push(grantKey({ roleArn: role.arn, policy: policy.name, statement: index, action, resource }));
          }
        }
      }
    }
    const who = `arn:aws:sts::${account}:assumed-role/${role.name}/{session}`;
    const why =
      outcome.overallResult === 'ExplicitlyDenied'
        ? `with an explicit deny in ${analysis.identityAnalysis?.denyStatements.length ? 'an identity-based' : 'a resource-based'} policy`
        : `because no identity-based policy allows the ${request.action} action`;
    return {
      allowed,
      used,
      message: allowed
        ? 'allowed'
        : `User: ${who} is not authorized to perform: ${request.action} on resource: "${request.resource}" ${why}`,
    };
  }

  /** One evaluation of `request` by `principal`, with the resource's policy; every call goes over TLS. */
  private async simulate(
    principal: string,
    identityPolicies: Simulation['identityPolicies'],
    request: IamRequest,
    context: Record<string, string>,
  ): Promise<SingleResourceSimulationResult> {
    const resourcePolicy = this.resourcePolicyFor(request.resource);
    const outcome = await runSimulation(
      {
        request: {
          principal,
          action: request.action,
          resource: { resource: request.resource, accountId: LOCAL_ACCOUNT.account },
          contextVariables: { 'aws:SecureTransport': 'true', ...context, ...request.context },
        },
        identityPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
      },
      {},
    );
    if (outcome.resultType === 'error')
      throw new Error(
        `IAM evaluation of ${request.action} on ${request.resource} by ${principal} failed: ${outcome.errors.message}`,
      );
    if (outcome.resultType !== 'single')
      throw new Error(`IAM evaluation of ${request.action} on ${request.resource} was not for one resource`);
    return outcome;
  }

  /** Buckets protect their objects too; other resources are found by their own ARN. */
  private resourcePolicyFor(resource: string): PolicyDocument | undefined {
    const policies = this.source.resourcePolicies;
    if (resource.startsWith('arn:aws:s3:::')) return policies.get(resource.split('/')[0]!);
    return policies.get(resource);
  }
}

/** The identity of a grant across processes (the template, and so every ARN in it, is the same). */
export function grantKey(grant: Pick<Grant, 'roleArn' | 'policy' | 'statement' | 'action' | 'resource'>): string {
  return [grant.roleArn, grant.policy, grant.statement, grant.action, grant.resource].join(' ');
}

function statementIndex(statements: readonly PolicyStatement[], identifier: string): number {
  const bySid = statements.findIndex((statement) => statement.Sid === identifier);
  return bySid >= 0 ? bySid : Number(identifier) - 1;
}

/** The patterns of a statement's field that matched the request, from the evaluator's explanation. */
function matched(
  explain: StatementExplain,
  field: 'actions' | 'resources',
  patterns: string | string[] | undefined,
): string[] {
  const explained = explain[field];
  if (explained === undefined) return list(patterns);
  const entries = Array.isArray(explained) ? explained : [explained];
  return entries.filter((entry) => entry.matches).map((entry) => ('action' in entry ? entry.action : entry.resource));
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The embedded S3 server's buckets standing for the stack's drop and work buckets. Kept apart from
 * synthesized-stack.ts, which loads the CDK app: the operator CLI, bundled into the package, defaults `--endpoint`
 * to these and must not load it.
 */
export const LOCAL_BUCKETS = { drop: 'inspect-drop', work: 'inspect-work' } as const;

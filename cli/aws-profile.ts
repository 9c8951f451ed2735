import { loadSharedConfigFiles } from '@smithy/core/config';
import { UsageError } from '../local/cli-options';
import { suggest } from '../src/suggest';

/**
 * `--profile NAME`: the named profile of the shared AWS files (`~/.aws/config`, `~/.aws/credentials`, or
 * AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE), read by the SDK's own loader. The clients get `profile`, so the
 * SDK resolves the credentials from it (keys, role_arn + source_profile, SSO, credential_process...); this module
 * only checks that the profile exists and reads its region, which the CLI ranks before AWS_REGION.
 */

export type ProfileFiles = Awaited<ReturnType<typeof loadSharedConfigFiles>>;

/** The shared files as the SDK reads them (missing files read as empty). */
export function readProfileFiles(): Promise<ProfileFiles> {
  return loadSharedConfigFiles({ ignoreCache: true });
}

/** Every profile named in either file, sorted. */
export function profileNames(files: ProfileFiles): string[] {
  return [...new Set([...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)])].sort();
}

/**
 * The profile's `region`, as the SDK merges the two files for it (the credentials file first:
 * NODE_REGION_CONFIG_FILE_OPTIONS.preferredFile), or undefined.
 */
export function profileRegion(files: ProfileFiles, name: string): string | undefined {
  const region = files.credentialsFile[name]?.region ?? files.configFile[name]?.region;
  return region?.trim() || undefined;
}

/**
 * A UsageError for a profile the files do not name. Without this the SDK would go on down its chain to the
 * instance's role, which on an EC2 host silently works with other credentials.
 */
export function requireProfile(files: ProfileFiles, name: string, env: NodeJS.ProcessEnv = process.env): void {
  const names = profileNames(files);
  if (names.includes(name)) return;
  const where = `${env.AWS_CONFIG_FILE || '~/.aws/config'} or ${env.AWS_SHARED_CREDENTIALS_FILE || '~/.aws/credentials'}`;
  const close = suggest(name, names);
  const create = `\`aws configure --profile ${name}\` creates it`;
  const hint =
    close !== undefined
      ? `did you mean --profile ${close}?`
      : names.length > 0
        ? `profiles there: ${names.join(', ')}; ${create}`
        : create;
  throw new UsageError(`--profile ${name}: no such profile in ${where}; ${hint}`);
}

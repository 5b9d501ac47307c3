import { type CloudAdminError, type ErrorRecord, UsageError, toErrorRecord } from "@cloudadmin/errors";
import type { Ec2InstanceRecord, Ec2IpsCounts } from "@cloudadmin/ec2-ips";
import { type Shard, parseShard } from "@cloudadmin/paging";
import type { CommandModule } from "../command-module.js";
import { exitCodeForScopeErrors, isUsefulOutcome } from "../exit-codes.js";
import { trustedCa } from "../providers.js";

const TABLE_COLUMNS = [
  "accountId",
  "accountName",
  "region",
  "instanceId",
  "instanceType",
  "state",
  "name",
  "privateIps",
  "publicIps",
  "ipv6Ips",
];
const PHASE_WORDS: Record<string, string> = {
  "list-accounts": "listing accounts failed",
  "caller-identity": "GetCallerIdentity failed",
  "assume-role": "AssumeRole denied or failed",
  "get-role-credentials": "no role credentials",
  "describe-regions": "DescribeRegions failed",
  "describe-instances": "DescribeInstances failed",
};

function list(value: unknown, flag: string, pattern: RegExp): string[] | undefined {
  if (value === undefined) return undefined;
  const items = String(value)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one value`);
  for (const item of items) {
    if (!pattern.test(item)) throw new UsageError(`${flag}: '${item}' is not valid`);
  }
  return items;
}

/** `AssumeRole denied or failed in 3 accounts (AccessDenied); DescribeInstances failed in 1 region (UnauthorizedOperation)` */
function describeErrors(errors: ErrorRecord[]): string {
  const groups = new Map<string, { n: number; codes: Set<string> }>();
  for (const e of errors) {
    const g = groups.get(e.phase) ?? { n: 0, codes: new Set<string>() };
    g.n++;
    g.codes.add(e.code);
    groups.set(e.phase, g);
  }
  return [...groups]
    .map(([phase, g]) => {
      const unit =
        phase === "describe-instances" ? "region" : phase === "list-accounts" ? "scope" : "account";
      return `${PHASE_WORDS[phase] ?? phase} in ${g.n} ${unit}${g.n === 1 ? "" : "s"} (${[...g.codes].join(", ")})`;
    })
    .join("; ");
}

export const ec2IpsCommand: CommandModule = {
  name: "ec2-ips",
  summary: "every EC2 instance in an AWS Organization (or IAM Identity Center user) with all its IPs",
  configure(command) {
    command
      .option("--org", "list the Organization's accounts and assume --role-name in each (default)")
      .option("--sso", "use the IAM Identity Center token cached by `aws sso login` for --profile")
      .option("--profile <name>", "AWS profile (default $AWS_PROFILE)")
      .option(
        "--role-name <name>",
        "role assumed in member accounts (--org)",
        "OrganizationAccountAccessRole",
      )
      .option(
        "--sso-role-name <name>",
        "permission set role to use in each account (--sso; default: the profile's sso_role_name)",
      )
      .option("--accounts <ids>", "only these account ids (comma-separated)")
      .option("--regions <names>", "only these regions (default: each account's enabled regions)")
      .option(
        "--state <names>",
        "only instances in these states (pending,running,stopping,stopped,shutting-down,terminated)",
      )
      .option(
        "--region <name>",
        "home region for Organizations, STS and DescribeRegions (default $AWS_REGION or us-east-1)",
      )
      .option(
        "--shard <index/count>",
        "read only this shard's share of the accounts (stable hash of the account id; index from 0)",
      )
      .addHelpText(
        "after",
        `
Lists every instance of every ACTIVE account (others are skipped and counted in the summary) in every
region the account has enabled (DescribeRegions), with every private IPv4 of every network interface,
every public IPv4 (auto-assigned and Elastic, on any interface or secondary IP), IPv6 addresses and
delegated prefixes. The management account is read with your own credentials.

Credentials and endpoints: the AWS SDK's standard variables and files: AWS_PROFILE, AWS_REGION,
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, ~/.aws/config and ~/.aws/credentials,
AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_EC2|STS|ORGANIZATIONS|SSO|SSO_OIDC, and endpoint_url in the
profile or its services section of ~/.aws/config (https, or http on loopback only, wherever it is set).
--org needs organizations:ListAccounts (management or delegated administrator account) and a role to
assume in each member; --sso needs \`aws sso login\` first. A profile with an sso_session has its
token refreshed (SSO-OIDC CreateToken) within 5 minutes of its expiry, also during the run, and the
cache under ~/.aws/sso/cache updated, as the AWS CLI does.

--shard i/n reads only the accounts whose id hashes to shard i of n (every shard lists the whole
Organization); the document records shard and scopes, and \`cloudadmin merge\` combines the shards.

A failed account or region (AssumeRole denied, an SCP, an expired SSO token) does not stop the run:
it is listed in errors[] with its phase, and the exit code is 5.

Examples:
  cloudadmin ec2-ips -o csv --out instances.csv
  cloudadmin ec2-ips --profile mgmt --regions eu-west-1,us-east-1 --state running
  cloudadmin ec2-ips --sso --profile my-sso --sso-role-name ReadOnly -o table
  cloudadmin ec2-ips --shard 0/3 --out shard-0.json
  cloudadmin ec2-ips --simulate -o json
`,
      );
  },
  async run(ctx, options) {
    if (options.org === true && options.sso === true) throw new UsageError("give --org or --sso, not both");
    const mode = options.sso === true ? "sso" : "org";
    const accounts = list(options.accounts, "--accounts", /^\d{12}$/);
    const regions = list(options.regions, "--regions", /^[a-z]{2}(-[a-z]+)+-\d$/);
    const states = list(
      options.state,
      "--state",
      /^(pending|running|shutting-down|terminated|stopping|stopped)$/,
    );
    const region = options.region === undefined ? undefined : String(options.region);
    if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
      throw new UsageError(`--region: '${region}' is not a region`);
    const shard: Shard | undefined =
      options.shard === undefined ? undefined : parseShard(String(options.shard));

    const sim = await ctx.simulate(["aws"]);
    if (sim && mode === "sso") {
      throw new UsageError(
        "--sso needs a real `aws sso login` token cache; with --simulate use --org (the default)",
      );
    }
    const lib = await import("@cloudadmin/ec2-ips");
    const settings = await lib.resolveAwsSettings({
      env: ctx.env,
      mode,
      ...(options.profile === undefined ? {} : { profile: String(options.profile) }),
      ...(options.ssoRoleName === undefined ? {} : { ssoRoleName: String(options.ssoRoleName) }),
      ...(region === undefined ? {} : { region }),
    });
    const ca = await trustedCa(ctx, sim);
    ctx.log.debug(
      `mode ${mode}, home region ${settings.region}, profile ${settings.profile}, endpoints ${JSON.stringify(settings.endpoints)}`,
    );

    const progress = await ctx.progress("ec2-ips");
    const errors: CloudAdminError[] = [];
    const scopes: string[] = [];
    const otherShards: string[] = [];
    let counts: Ec2IpsCounts | undefined;
    const show = (c: Ec2IpsCounts) => {
      counts = c;
      progress.update({
        accounts: `${c.accountsDone}/${c.listingComplete ? c.accountsTotal : `${c.accountsTotal}+`}`,
        regions: `${c.regionsDone + c.regionsFailed}/${c.regionsTotal}`,
        instances: c.instances,
        throttled: c.throttled,
        retries: c.retries,
        errors: c.errors,
      });
    };
    const items: AsyncIterable<Ec2InstanceRecord> = lib.listEc2Ips({
      mode,
      region: settings.region,
      endpoints: settings.endpoints,
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      ...(settings.sso ? { sso: settings.sso } : {}),
      roleName: String(options.roleName ?? "OrganizationAccountAccessRole"),
      ...(accounts ? { accounts } : {}),
      ...(regions ? { regions } : {}),
      ...(states ? { states } : {}),
      ...(shard ? { shard } : {}),
      ...(ctx.globals.concurrency === undefined ? {} : { concurrency: ctx.globals.concurrency }),
      ...(ctx.globals.timeoutMs === undefined ? {} : { timeoutMs: ctx.globals.timeoutMs }),
      ...(ctx.globals.maxRetries === undefined ? {} : { maxRetries: ctx.globals.maxRetries }),
      ...(ca ? { ca } : {}),
      signal: ctx.signal,
      onError: (e) => {
        errors.push(e);
        ctx.log.debug(`${e.scope} ${e.phase}: ${e.remoteCode ?? e.code}: ${e.message}`);
      },
      onProgress: (e) => {
        if (e.type === "warning") ctx.log.warn(e.message);
        if (e.type === "account-listed") scopes.push(e.accountId);
        if (e.type === "account-in-other-shard") otherShards.push(e.accountId);
        show(e.counts);
      },
    });

    await ctx.emit({
      items,
      errors: (): ErrorRecord[] => errors.map((e) => toErrorRecord(e)),
      summary: () => ({
        mode,
        accountsListed: counts?.accountsListed ?? 0,
        accounts: counts?.accountsTotal ?? 0,
        accountsSkippedNotActive: counts?.accountsSkipped ?? 0,
        // A shard's whole listing, so that a merge can tell a scope no shard covered.
        ...(shard
          ? {
              accountsOtherShards: counts?.accountsOtherShards ?? 0,
              scopesListed: [...scopes, ...otherShards].sort(),
            }
          : {}),
        accountsFailed: counts?.accountsFailed ?? 0,
        regions: counts?.regionsTotal ?? 0,
        regionsFailed: counts?.regionsFailed ?? 0,
        regionsNotEnabled: counts?.regionsNotEnabled ?? 0,
        instances: counts?.instances ?? 0,
        requests: counts?.requests ?? 0,
        retries: counts?.retries ?? 0,
        throttled: counts?.throttled ?? 0,
      }),
      ...(shard ? { extra: () => ({ shard, scopes: [...scopes].sort() }) } : {}),
      // Every scope failed: nothing useful, so an earlier run's output stays as it was.
      commitIf: () => isUsefulOutcome(exitCodeForScopeErrors(counts?.regionsDone ?? 0, errors)),
      columns: TABLE_COLUMNS,
    });

    if (errors.length > 0) {
      ctx.log.error(`${describeErrors(errors.map((e) => toErrorRecord(e)))}; see errors[] or rerun with -v`);
    }
    return exitCodeForScopeErrors(counts?.regionsDone ?? 0, errors);
  },
};

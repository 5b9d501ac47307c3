import { setMaxListeners } from "node:events";
import { DescribeInstancesCommand, DescribeRegionsCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { ListAccountsCommand as OrgListAccountsCommand } from "@aws-sdk/client-organizations";
import {
  GetRoleCredentialsCommand,
  ListAccountsCommand as SsoListAccountsCommand,
} from "@aws-sdk/client-sso";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import {
  type CloudAdminError,
  AbortedError,
  UsageError,
  isAbortError,
  toErrorRecord,
} from "@cloudadmin/errors";
import { Slots, flatMapConcurrent, paginate } from "@cloudadmin/paging";
import { ClientFactory, checkEndpoint } from "./clients.js";
import { toAwsError } from "./errors.js";
import { toInstanceRecord } from "./extract.js";
import type {
  AwsCredentials,
  Ec2InstanceRecord,
  Ec2IpsCounts,
  Ec2IpsError,
  Ec2IpsProgressEvent,
  ListEc2IpsOptions,
} from "./types.js";

interface Account {
  accountId: string;
  accountName: string | null;
}

interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Credentials are re-minted only this close to expiry (runs shorter than an hour mint once). */
const REFRESH_BEFORE_MS = 5 * 60_000;

type AccountCredentials =
  | { kind: "caller" }
  | { kind: "temporary"; get: () => Promise<TemporaryCredentials> };

function emptyCounts(): Ec2IpsCounts {
  return {
    accountsListed: 0,
    accountsTotal: 0,
    accountsSkipped: 0,
    accountsDone: 0,
    accountsFailed: 0,
    regionsTotal: 0,
    regionsDone: 0,
    regionsFailed: 0,
    regionsNotEnabled: 0,
    instances: 0,
    requests: 0,
    retries: 0,
    throttled: 0,
    errors: 0,
    listingComplete: false,
  };
}

class Ec2IpsRun {
  readonly counts = emptyCounts();
  private readonly clients: ClientFactory;
  private readonly slots: Slots;
  private readonly homeRegion: string;
  private readonly ec2Clients = new Map<string, EC2Client>();
  private readonly credentialCache = new Map<string, Promise<TemporaryCredentials>>();
  private ssoTokenExpired: CloudAdminError | undefined;
  private callerAccount: Promise<string | undefined> | undefined;

  constructor(
    private readonly options: ListEc2IpsOptions,
    private readonly signal: AbortSignal,
  ) {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 64));
    this.slots = new Slots(concurrency, { signal });
    this.homeRegion = options.region ?? "us-east-1";
    this.clients = new ClientFactory({
      endpoints: options.endpoints ?? {},
      ...(options.ca ? { ca: options.ca } : {}),
      concurrency,
      timeoutMs: options.timeoutMs ?? 20_000,
      maxRetries: options.maxRetries ?? 5,
      counters: {
        onAttempt: () => {
          this.counts.requests++;
        },
        onFailedAttempt: (throttled) => {
          if (throttled) this.counts.throttled++;
        },
      },
    });
  }

  close(): void {
    this.clients.destroy();
  }

  emit(event: Ec2IpsProgressEvent): void {
    this.options.onProgress?.(event);
  }

  private snapshot(): Ec2IpsCounts {
    return { ...this.counts };
  }

  fail(
    error: unknown,
    scope: string,
    phase: Ec2IpsError["phase"],
    where: { accountId?: string; region?: string } = {},
  ): void {
    if (isAbortError(error) && this.signal.aborted) throw error;
    const record: Ec2IpsError = { ...toErrorRecord(error, scope, phase), phase, ...where };
    this.counts.errors++;
    this.options.onError?.(record);
    this.emit({ type: "error", error: record, counts: this.snapshot() });
  }

  /**
   * Sends one request under the run's request bound; retries happen inside the SDK client. Urgent
   * requests (the next page of a listing under way, credentials an account waits on) go before new
   * work, so the few account-regions that need several pages are not left for the very end.
   */
  private async send<T>(
    urgent: boolean,
    call: (signal: AbortSignal | undefined) => Promise<T & { $metadata?: { attempts?: number } }>,
  ): Promise<T> {
    const signal = this.signal;
    return this.slots.run(
      async () => {
        try {
          const out = await call(signal);
          const retries = (out.$metadata?.attempts ?? 1) - 1;
          if (retries > 0) this.counts.retries += retries;
          return out;
        } catch (error) {
          const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
          if (attempts > 1) this.counts.retries += attempts - 1;
          throw error;
        }
      },
      { urgent },
    );
  }

  // ---- accounts ---------------------------------------------------------------------------------

  async *accounts(): AsyncGenerator<Account> {
    const wanted = this.options.accounts ? new Set(this.options.accounts) : undefined;
    const seen = new Set<string>();
    const sso = this.options.mode === "sso";
    const source = sso ? this.ssoAccounts() : this.orgAccounts();
    try {
      for await (const a of source) {
        seen.add(a.accountId);
        this.counts.accountsListed++;
        const skipped = a.state !== undefined && a.state !== "ACTIVE";
        if (wanted && !wanted.has(a.accountId)) continue;
        if (skipped) this.counts.accountsSkipped++;
        else this.counts.accountsTotal++;
        this.emit({ type: "account-listed", accountId: a.accountId, skipped, counts: this.snapshot() });
        if (!skipped) yield { accountId: a.accountId, accountName: a.accountName };
      }
      for (const id of wanted ?? []) {
        if (seen.has(id)) continue;
        this.fail(
          new UsageError(
            `account ${id} is not in the ${sso ? "accounts IAM Identity Center lists for this user" : "Organization"}`,
          ),
          id,
          "list-accounts",
          { accountId: id },
        );
      }
    } catch (error) {
      this.fail(error, sso ? "sso" : "organization", "list-accounts");
      // A caller that may not list the Organization (a member account, an SCP) can still read the
      // accounts it was given explicitly; they just have no names.
      if (!sso && wanted) {
        for (const id of wanted) {
          if (seen.has(id)) continue;
          this.counts.accountsTotal++;
          this.emit({ type: "account-listed", accountId: id, skipped: false, counts: this.snapshot() });
          yield { accountId: id, accountName: null };
        }
      }
    } finally {
      this.counts.listingComplete = true;
      this.emit({ type: "listing-complete", counts: this.snapshot() });
    }
  }

  private async *orgAccounts(): AsyncGenerator<Account & { state?: string }> {
    const caller = this.options.credentials;
    const org = this.clients.organizations(this.homeRegion, caller);
    const sts = this.clients.sts(this.homeRegion, caller);
    this.callerAccount = this.send(true, (abortSignal) =>
      sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
    ).then(
      (r) => r.Account,
      (error: unknown) => {
        this.fail(toAwsError(error, "GetCallerIdentity"), "organization", "caller-identity");
        return undefined;
      },
    );
    const pages = paginate(
      async (token: string | undefined) => {
        try {
          const out = await this.send(true, (abortSignal) =>
            org.send(new OrgListAccountsCommand({ ...(token ? { NextToken: token } : {}) }), { abortSignal }),
          );
          return { items: out.Accounts ?? [], next: out.NextToken };
        } catch (error) {
          throw toAwsError(
            error,
            "Organizations ListAccounts",
            "the caller must be the management account or a delegated administrator",
          );
        }
      },
      { signal: this.signal },
    );
    for await (const a of pages) {
      if (!a.Id) continue;
      yield { accountId: a.Id, accountName: a.Name ?? null, state: a.State ?? a.Status ?? "ACTIVE" };
    }
  }

  private async ssoToken(): Promise<string> {
    const t = this.options.sso?.accessToken;
    return typeof t === "function" ? t() : (t ?? "");
  }

  private ssoFailure(error: unknown, what: string): CloudAdminError {
    const e = toAwsError(error, what, "run `aws sso login` and try again");
    if (e.code === "ERR_AUTH_EXPIRED") this.ssoTokenExpired ??= e;
    return e;
  }

  private async *ssoAccounts(): AsyncGenerator<Account & { state?: string }> {
    const sso = this.clients.sso(this.options.sso?.region ?? this.homeRegion);
    const pages = paginate(
      async (token: string | undefined) => {
        if (this.ssoTokenExpired) throw this.ssoTokenExpired;
        const accessToken = await this.ssoToken();
        try {
          const out = await this.send(true, (abortSignal) =>
            sso.send(new SsoListAccountsCommand({ accessToken, ...(token ? { nextToken: token } : {}) }), {
              abortSignal,
            }),
          );
          return { items: out.accountList ?? [], next: out.nextToken };
        } catch (error) {
          throw this.ssoFailure(error, "IAM Identity Center ListAccounts");
        }
      },
      { signal: this.signal },
    );
    for await (const a of pages) {
      if (a.accountId) yield { accountId: a.accountId, accountName: a.accountName ?? null };
    }
  }

  // ---- credentials ------------------------------------------------------------------------------

  private async credentialsFor(account: Account): Promise<AccountCredentials> {
    if (this.options.mode !== "sso" && (await this.callerAccount) === account.accountId)
      return { kind: "caller" };
    const get = (): Promise<TemporaryCredentials> => {
      const cached = this.credentialCache.get(account.accountId);
      if (cached) {
        return cached.then((c) =>
          c.expiration && c.expiration.getTime() - Date.now() < REFRESH_BEFORE_MS ? this.mint(account) : c,
        );
      }
      return this.mint(account);
    };
    await get();
    return { kind: "temporary", get };
  }

  private mint(account: Account): Promise<TemporaryCredentials> {
    const promise = this.options.mode === "sso" ? this.ssoRoleCredentials(account) : this.assumeRole(account);
    this.credentialCache.set(account.accountId, promise);
    promise.catch(() => this.credentialCache.delete(account.accountId));
    return promise;
  }

  private stsClient: ReturnType<ClientFactory["sts"]> | undefined;

  private async assumeRole(account: Account): Promise<TemporaryCredentials> {
    // Regional STS (the SDK's default): its tokens work in opt-in regions, unlike the global endpoint's.
    this.stsClient ??= this.clients.sts(this.homeRegion, this.options.credentials);
    const sts = this.stsClient;
    const roleArn = `arn:aws:iam::${account.accountId}:role/${this.options.roleName ?? "OrganizationAccountAccessRole"}`;
    try {
      const out = await this.send(true, (abortSignal) =>
        sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: this.options.roleSessionName ?? "cloudadmin-ec2-ips",
            DurationSeconds: 3600,
          }),
          { abortSignal },
        ),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("AssumeRole returned no credentials");
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      };
    } catch (error) {
      throw toAwsError(
        error,
        `AssumeRole ${roleArn}`,
        "check the role exists and trusts the caller, or pass another role name",
      );
    }
  }

  private ssoClient: ReturnType<ClientFactory["sso"]> | undefined;

  private async ssoRoleCredentials(account: Account): Promise<TemporaryCredentials> {
    if (this.ssoTokenExpired) throw this.ssoTokenExpired;
    const roleName = this.options.sso?.roleName ?? "";
    this.ssoClient ??= this.clients.sso(this.options.sso?.region ?? this.homeRegion);
    const sso = this.ssoClient;
    const accessToken = await this.ssoToken();
    try {
      const out = await this.send(true, (abortSignal) =>
        sso.send(new GetRoleCredentialsCommand({ accessToken, accountId: account.accountId, roleName }), {
          abortSignal,
        }),
      );
      const c = out.roleCredentials;
      if (!c?.accessKeyId || !c.secretAccessKey)
        throw new Error("GetRoleCredentials returned no credentials");
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        ...(c.expiration ? { expiration: new Date(c.expiration) } : {}),
      };
    } catch (error) {
      throw this.ssoFailure(error, `GetRoleCredentials ${roleName} in ${account.accountId}`);
    }
  }

  private ec2(account: Account, region: string, creds: AccountCredentials): EC2Client {
    const key = `${account.accountId}/${region}`;
    let client = this.ec2Clients.get(key);
    if (!client) {
      const provider: AwsCredentials | undefined =
        creds.kind === "caller" ? this.options.credentials : creds.get;
      client = this.clients.ec2(region, provider);
      this.ec2Clients.set(key, client);
    }
    return client;
  }

  // ---- one account ------------------------------------------------------------------------------

  async *account(account: Account): AsyncGenerator<Ec2InstanceRecord> {
    const id = account.accountId;
    const phase = this.options.mode === "sso" ? "get-role-credentials" : "assume-role";
    let creds: AccountCredentials;
    try {
      creds = await this.credentialsFor(account);
    } catch (error) {
      this.fail(error, id, phase, { accountId: id });
      this.accountDone(id, true);
      return;
    }
    const regions = await this.regionsOf(account, creds);
    if (!regions) {
      this.accountDone(id, true);
      return;
    }
    let failed = false;
    yield* flatMapConcurrent(
      regions,
      (region) => this.region(account, region, creds, () => (failed = true)),
      { concurrency: regions.length || 1, ...{ signal: this.signal } },
    );
    this.accountDone(id, failed);
  }

  private accountDone(accountId: string, failed: boolean): void {
    this.counts.accountsDone++;
    if (failed) this.counts.accountsFailed++;
    this.emit({ type: "account-done", accountId, failed, counts: this.snapshot() });
  }

  private async regionsOf(account: Account, creds: AccountCredentials): Promise<string[] | null> {
    const id = account.accountId;
    const client = this.ec2(account, this.homeRegion, creds);
    let enabled: string[];
    try {
      const out = await this.send(false, (abortSignal) =>
        client.send(new DescribeRegionsCommand({}), { abortSignal }),
      );
      enabled = (out.Regions ?? []).map((r) => r.RegionName).filter((r): r is string => !!r);
    } catch (error) {
      const e = toAwsError(error, `DescribeRegions in ${id}`);
      const fallback = this.options.fallbackRegions ?? this.options.regions;
      if (e.remoteCode === "UnauthorizedOperation" && fallback && fallback.length > 0) {
        this.emit({
          type: "warning",
          accountId: id,
          message: `DescribeRegions is denied in ${id}; reading the configured regions ${fallback.join(", ")}`,
          counts: this.snapshot(),
        });
        enabled = [...fallback];
      } else {
        this.fail(e, id, "describe-regions", { accountId: id });
        return null;
      }
    }
    let regions = enabled;
    if (this.options.regions) {
      const asked = this.options.regions;
      regions = asked.filter((r) => enabled.includes(r));
      this.counts.regionsNotEnabled += asked.length - regions.length;
    }
    this.counts.regionsTotal += regions.length;
    this.emit({ type: "regions-listed", accountId: id, regions, counts: this.snapshot() });
    return regions;
  }

  private async *region(
    account: Account,
    region: string,
    creds: AccountCredentials,
    onFailure: () => void,
  ): AsyncGenerator<Ec2InstanceRecord> {
    const client = this.ec2(account, region, creds);
    const states = this.options.states;
    const pageSize = this.options.pageSize ?? 1000;
    let found = 0;
    let first = true;
    try {
      const pages = paginate(
        async (token: string | undefined) => {
          const urgent = !first;
          first = false;
          const out = await this.send(urgent, (abortSignal) =>
            client.send(
              new DescribeInstancesCommand({
                MaxResults: pageSize,
                ...(token ? { NextToken: token } : {}),
                ...(states && states.length > 0
                  ? { Filters: [{ Name: "instance-state-name", Values: [...states] }] }
                  : {}),
              }),
              { abortSignal },
            ),
          );
          const items = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
          return { items, next: out.NextToken };
        },
        { signal: this.signal },
      );
      for await (const instance of pages) {
        found++;
        this.counts.instances++;
        yield toInstanceRecord(instance, account, region);
      }
      this.counts.regionsDone++;
    } catch (error) {
      onFailure();
      this.counts.regionsFailed++;
      const hint =
        (error as { name?: string }).name === "AuthFailure"
          ? "the region may be disabled in this account"
          : undefined;
      this.fail(
        toAwsError(error, `DescribeInstances in ${account.accountId} ${region}`, hint),
        `${account.accountId}/${region}`,
        "describe-instances",
        {
          accountId: account.accountId,
          region,
        },
      );
    }
    this.emit({
      type: "region-done",
      accountId: account.accountId,
      region,
      instances: found,
      counts: this.snapshot(),
    });
  }
}

function validate(options: ListEc2IpsOptions): void {
  for (const [name, value] of Object.entries(options.endpoints ?? {})) checkEndpoint(name, value);
  if (options.mode === "sso") {
    if (!options.sso?.accessToken || !options.sso.roleName || !options.sso.region) {
      throw new UsageError("sso mode needs sso.accessToken, sso.roleName and sso.region");
    }
  }
  const page = options.pageSize ?? 1000;
  if (!Number.isInteger(page) || page < 5 || page > 1000)
    throw new UsageError("pageSize must be an integer from 5 to 1000");
  if (options.concurrency !== undefined && !(options.concurrency >= 1))
    throw new UsageError("concurrency must be at least 1");
  for (const id of options.accounts ?? []) {
    if (!/^\d{12}$/.test(id)) throw new UsageError(`account id ${JSON.stringify(id)} is not 12 digits`);
  }
}

/**
 * Lists every EC2 instance in every account of an AWS Organization (or every account an IAM
 * Identity Center user can reach) in every enabled region, with all private and public IPs.
 * Records stream as each region answers. A failed account or region never ends the run: it is
 * reported through `onError` (and a progress event) and the rest is read.
 *
 * Credentials and endpoints come from options; when they are absent the AWS SDK's own resolution
 * applies (`AWS_PROFILE`, `AWS_ENDPOINT_URL*`, ...).
 *
 * @example
 * ```ts
 * import { listEc2Ips } from "@cloudadmin/ec2-ips";
 * for await (const i of listEc2Ips({ region: "us-east-1", onError: (e) => console.error(e) })) {
 *   console.log(i.accountId, i.region, i.instanceId, i.privateIps.join(" "), i.publicIps.join(" "));
 * }
 * ```
 */
export async function* listEc2Ips(
  options: ListEc2IpsOptions = {},
): AsyncGenerator<Ec2InstanceRecord, void, undefined> {
  validate(options);
  // One internal signal for the run's many listeners (tasks, queued requests, SDK calls), so the
  // caller's signal carries one listener only.
  const internal = new AbortController();
  setMaxListeners(0, internal.signal);
  const onAbort = () => internal.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const run = new Ec2IpsRun(options, internal.signal);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 64));
  try {
    yield* flatMapConcurrent(run.accounts(), (account) => run.account(account), {
      concurrency,
      signal: internal.signal,
    });
    if (options.signal?.aborted) throw new AbortedError(undefined, { cause: options.signal.reason });
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    run.close();
    run.emit({ type: "done", counts: { ...run.counts } });
  }
}

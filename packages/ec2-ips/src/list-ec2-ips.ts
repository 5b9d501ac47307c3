import { setMaxListeners } from "node:events";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { checkEndpoint } from "@cloudadmin/auth";
import { AbortedError, ConfigError, UsageError } from "@cloudadmin/errors";
import { flatMapConcurrent } from "@cloudadmin/paging";
import { listAccounts } from "./accounts.js";
import { type AccountCredentials, CredentialBroker } from "./credentials.js";
import { toAwsError } from "./errors.js";
import { listInstances } from "./instances.js";
import { describeRegionsWith, regionsOf } from "./regions.js";
import { type Account, RunContext } from "./run-context.js";
import { SsoSession } from "./sso-session.js";
import type { AwsCredentials, Ec2InstanceRecord, ListEc2IpsOptions } from "./types.js";

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

function validate(options: ListEc2IpsOptions): void {
  for (const [name, value] of Object.entries(options.endpoints ?? {})) {
    if (value !== undefined) checkEndpoint(value, `the ${name} endpoint`);
  }
  for (const [name, value] of [
    ["region", options.region],
    ["sso.region", options.sso?.region],
  ] as const) {
    if (value !== undefined && !REGION.test(value))
      throw new ConfigError(
        `${name} ${JSON.stringify(value.slice(0, 40))} is not an AWS region name (like us-east-1)`,
      );
  }
  if (options.mode === "sso") {
    if (!options.sso?.accessToken || !options.sso.roleName || !options.sso.region) {
      throw new UsageError("sso mode needs sso.accessToken, sso.roleName and sso.region");
    }
  }
  const c = options.credentials;
  if (c && typeof c === "object") {
    for (const [name, value] of Object.entries(c)) {
      if (typeof value === "string" && /[\r\n]/.test(value))
        throw new ConfigError(`credentials.${name} holds a line break; give the value on one line`);
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
 * The caller's credentials, resolved once for all the run's clients (a profile that assumes a role
 * assumes it once) and again within 5 minutes of their expiry.
 */
function memoized(credentials: AwsCredentials | undefined): AwsCredentials | undefined {
  if (typeof credentials !== "function") return credentials;
  type Identity = Awaited<ReturnType<Extract<AwsCredentials, (...a: never[]) => unknown>>>;
  let current: Promise<Identity> | undefined;
  return () => {
    const stale = (c: Identity) =>
      c.expiration !== undefined && c.expiration.getTime() - Date.now() < 5 * 60_000;
    const fetch = () => {
      current = credentials();
      current.catch(() => {
        current = undefined;
      });
      return current;
    };
    return current ? current.then((c) => (stale(c) ? fetch() : c)) : fetch();
  };
}

/** One account: credentials, regions, then every region's instances, concurrently. */
async function* readAccount(
  run: RunContext,
  broker: CredentialBroker,
  account: Account,
): AsyncGenerator<Ec2InstanceRecord> {
  const id = account.accountId;
  let creds: AccountCredentials;
  try {
    creds = await broker.forAccount(account);
  } catch (error) {
    run.fail(error, id, run.options.mode === "sso" ? "get-role-credentials" : "assume-role");
    accountDone(run, id, true);
    return;
  }
  // One client per account and region: it signs with the account's credentials in that region.
  const clients = new Map<string, EC2Client>();
  const ec2 = (region: string) => {
    let client = clients.get(region);
    if (!client) {
      client = run.clients.ec2(region, broker.provider(creds));
      clients.set(region, client);
    }
    return client;
  };
  const home = ec2(run.homeRegion);
  const regions = await regionsOf(
    run,
    account,
    describeRegionsWith(run, account, (command, abortSignal) => home.send(command, { abortSignal })),
  );
  if (!regions) {
    accountDone(run, id, true);
    return;
  }
  let failed = false;
  yield* flatMapConcurrent(
    regions,
    (region) =>
      listInstances(run, account, region, ec2(region), () => {
        failed = true;
      }),
    { concurrency: regions.length || 1, signal: run.signal },
  );
  accountDone(run, id, failed);
}

function accountDone(run: RunContext, accountId: string, failed: boolean): void {
  run.counts.accountsDone++;
  if (failed) run.counts.accountsFailed++;
  run.emit({ type: "account-done", accountId, failed, counts: run.snapshot() });
}

/**
 * Lists every EC2 instance in every account of an AWS Organization (or every account an IAM
 * Identity Center user can reach) in every enabled region, with all private and public IPs.
 * Records stream as each region answers. The flow: list accounts (`accounts.ts`), get each
 * account's credentials (`credentials.ts`), list its enabled regions (`regions.ts`), list each
 * region's instances and extract their IPs (`instances.ts`, `extract.ts`).
 *
 * A failed account or region never ends the run: it is reported through `onError` (a
 * `CloudAdminError` with `scope` and `phase`) and the rest is read. The run itself fails (throws)
 * only when nothing can be done: bad options, an endpoint the policy refuses, no caller
 * credentials, or an IAM Identity Center token that can be neither used nor refreshed.
 *
 * Credentials and endpoints come from options; when they are absent the AWS SDK's own resolution
 * applies (`AWS_PROFILE`, `AWS_ENDPOINT_URL*`, ...). Every endpoint a client resolves, from any
 * source, must be https or plain http on loopback; anything else is refused before it is signed.
 *
 * @example
 * ```ts
 * import { listEc2Ips } from "@cloudadmin/ec2-ips";
 * for await (const i of listEc2Ips({ region: "us-east-1", onError: (e) => console.error(e.scope, e.message) })) {
 *   console.log(i.accountId, i.region, i.instanceId, i.privateIps.join(" "), i.publicIps.join(" "));
 * }
 * ```
 */
export async function* listEc2Ips(
  given: ListEc2IpsOptions = {},
): AsyncGenerator<Ec2InstanceRecord, void, undefined> {
  validate(given);
  const options: ListEc2IpsOptions = { ...given };
  const credentials = memoized(given.credentials);
  if (credentials) options.credentials = credentials;
  // One internal signal for the run's many listeners (tasks, queued requests, SDK calls), so the
  // caller's signal carries one listener only.
  const internal = new AbortController();
  setMaxListeners(0, internal.signal);
  const onAbort = () => internal.abort(given.signal?.reason);
  if (given.signal?.aborted) onAbort();
  given.signal?.addEventListener("abort", onAbort, { once: true });
  const run = new RunContext(options, internal.signal);
  const sso = options.mode === "sso" && options.sso ? new SsoSession(options.sso) : undefined;
  const broker = new CredentialBroker(run, sso);
  try {
    // Nothing can be read without the caller's credentials or a usable token: that ends the run.
    if (sso) await sso.token();
    else if (typeof credentials === "function") {
      await credentials().catch((error: unknown) => {
        throw toAwsError(error, "the caller's AWS credentials could not be resolved");
      });
    }
    if (!sso) broker.startCallerIdentity();
    yield* flatMapConcurrent(listAccounts(run, sso), (account) => readAccount(run, broker, account), {
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 64)),
      signal: internal.signal,
    });
    if (given.signal?.aborted) throw new AbortedError(undefined, { cause: given.signal.reason });
  } finally {
    given.signal?.removeEventListener("abort", onAbort);
    run.close();
    run.emit({ type: "done", counts: run.snapshot() });
  }
}

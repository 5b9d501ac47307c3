import type { SSOClient } from "@aws-sdk/client-sso";
import { GetRoleCredentialsCommand } from "@aws-sdk/client-sso";
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import { registerSecret } from "@cloudadmin/errors";
import type { Account, RunContext } from "./run-context.js";
import type { SsoSession } from "./sso-session.js";
import type { AwsCredentials } from "./types.js";

interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** The caller's own credentials (the management account), or a role's, minted and refreshed here. */
export type AccountCredentials =
  | { kind: "caller" }
  | { kind: "temporary"; get: () => Promise<TemporaryCredentials> };

/** Credentials are re-minted only this close to expiry (runs shorter than an hour mint once). */
const REFRESH_BEFORE_MS = 5 * 60_000;

function temporary(c: TemporaryCredentials): TemporaryCredentials {
  // Minted secrets never appear in a message, even one a server echoes back.
  registerSecret(c.secretAccessKey);
  registerSecret(c.sessionToken);
  return c;
}

/**
 * Step 2: credentials for each account. Org mode assumes `roleName` in each member (regional STS,
 * whose tokens also work in opt-in regions) and reads the management account with the caller's own
 * credentials; sso mode gets the permission set's role credentials from the portal. Each account's
 * credentials are minted once and again only within 5 minutes of their expiry.
 */
export class CredentialBroker {
  private readonly cache = new Map<string, Promise<TemporaryCredentials>>();
  private sts: STSClient | undefined;
  private portal: SSOClient | undefined;
  private callerAccount: Promise<string | undefined> | undefined;

  constructor(
    private readonly run: RunContext,
    private readonly sso: SsoSession | undefined,
  ) {}

  /** Org mode: learns the caller's account (GetCallerIdentity), alongside the account listing. */
  startCallerIdentity(): void {
    const sts = this.stsClient();
    this.callerAccount = this.run
      .call("GetCallerIdentity", true, (abortSignal) =>
        sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
      )
      .then(
        (r) => r.Account,
        (error: unknown) => {
          this.run.fail(error, "organization", "caller-identity");
          return undefined;
        },
      );
  }

  /** The account's credentials, minted now (so a failure is the account's `assume-role` error). */
  async forAccount(account: Account): Promise<AccountCredentials> {
    if (!this.sso && (await this.callerAccount) === account.accountId) return { kind: "caller" };
    const get = (): Promise<TemporaryCredentials> => {
      const cached = this.cache.get(account.accountId);
      if (!cached) return this.mint(account);
      return cached.then((c) =>
        c.expiration && c.expiration.getTime() - this.run.timer.now() < REFRESH_BEFORE_MS
          ? this.mint(account)
          : c,
      );
    };
    await get();
    return { kind: "temporary", get };
  }

  /** What the account's EC2 clients sign with. */
  provider(creds: AccountCredentials): AwsCredentials | undefined {
    return creds.kind === "caller" ? this.run.options.credentials : creds.get;
  }

  private mint(account: Account): Promise<TemporaryCredentials> {
    const promise = this.sso ? this.roleCredentials(account, this.sso) : this.assumeRole(account);
    this.cache.set(account.accountId, promise);
    promise.catch(() => this.cache.delete(account.accountId));
    return promise;
  }

  private stsClient(): STSClient {
    this.sts ??= this.run.clients.sts(this.run.homeRegion, this.run.options.credentials);
    return this.sts;
  }

  private async assumeRole(account: Account): Promise<TemporaryCredentials> {
    const { options } = this.run;
    const sts = this.stsClient();
    const roleArn = `arn:aws:iam::${account.accountId}:role/${options.roleName ?? "OrganizationAccountAccessRole"}`;
    const out = await this.run.call(
      `AssumeRole ${roleArn}`,
      true,
      (abortSignal) =>
        sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: options.roleSessionName ?? "cloudadmin-ec2-ips",
            DurationSeconds: 3600,
          }),
          { abortSignal },
        ),
      "check the role exists and trusts the caller, or pass another role name",
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("AssumeRole returned no credentials");
    return temporary({
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    });
  }

  private async roleCredentials(account: Account, sso: SsoSession): Promise<TemporaryCredentials> {
    this.portal ??= this.run.clients.sso(sso.region);
    const portal = this.portal;
    const roleName = sso.roleName;
    const out = await sso.use((accessToken) =>
      this.run.call(
        `GetRoleCredentials ${roleName} in ${account.accountId}`,
        true,
        (abortSignal) =>
          portal.send(
            new GetRoleCredentialsCommand({ accessToken, accountId: account.accountId, roleName }),
            {
              abortSignal,
            },
          ),
        sso.loginHint,
      ),
    );
    const c = out.roleCredentials;
    if (!c?.accessKeyId || !c.secretAccessKey) throw new Error("GetRoleCredentials returned no credentials");
    return temporary({
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
      ...(c.expiration ? { expiration: new Date(c.expiration) } : {}),
    });
  }
}

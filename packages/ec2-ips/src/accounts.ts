import { ListAccountsCommand as OrgListAccountsCommand } from "@aws-sdk/client-organizations";
import { ListAccountsCommand as SsoListAccountsCommand } from "@aws-sdk/client-sso";
import { UsageError } from "@cloudadmin/errors";
import { paginate, shardOf } from "@cloudadmin/paging";
import type { Account, RunContext } from "./run-context.js";
import type { SsoSession } from "./sso-session.js";

interface Listed extends Account {
  state?: string;
}

/**
 * Step 1: the accounts to read. Organizations' ListAccounts (org mode) or the Identity Center
 * user's accounts (sso mode), narrowed to `accounts` and to this run's `shard`; accounts whose State
 * is not ACTIVE are counted and skipped. Every account is listed (cheap) whatever the shard, so a
 * shard knows the whole scope and reads only its share.
 */
export async function* listAccounts(run: RunContext, sso: SsoSession | undefined): AsyncGenerator<Account> {
  const { options, counts } = run;
  const wanted = options.accounts ? new Set(options.accounts) : undefined;
  const shard = options.shard;
  const mine = (id: string) => shard === undefined || shardOf(id, shard.count) === shard.index;
  const seen = new Set<string>();
  const source = sso ? ssoAccounts(run, sso) : orgAccounts(run);
  const listed = (accountId: string, skipped: boolean) => {
    if (skipped) counts.accountsSkipped++;
    else counts.accountsTotal++;
    run.emit({ type: "account-listed", accountId, skipped, counts: run.snapshot() });
  };
  try {
    for await (const a of source) {
      seen.add(a.accountId);
      counts.accountsListed++;
      if (wanted && !wanted.has(a.accountId)) continue;
      if (!mine(a.accountId)) {
        counts.accountsOtherShards++;
        run.emit({ type: "account-in-other-shard", accountId: a.accountId, counts: run.snapshot() });
        continue;
      }
      const skipped = a.state !== undefined && a.state !== "ACTIVE";
      listed(a.accountId, skipped);
      if (!skipped) yield { accountId: a.accountId, accountName: a.accountName };
    }
    for (const id of wanted ?? []) {
      if (seen.has(id) || !mine(id)) continue;
      const where = sso ? "accounts IAM Identity Center lists for this user" : "Organization";
      run.fail(new UsageError(`account ${id} is not in the ${where}`), id, "list-accounts");
    }
  } catch (error) {
    run.fail(error, sso ? "sso" : "organization", "list-accounts");
    // A caller that may not list the Organization (a member account, an SCP) can still read the
    // accounts it was given explicitly; they just have no names.
    if (!sso && wanted) {
      for (const id of wanted) {
        if (seen.has(id) || !mine(id)) continue;
        listed(id, false);
        yield { accountId: id, accountName: null };
      }
    }
  } finally {
    counts.listingComplete = true;
    run.emit({ type: "listing-complete", counts: run.snapshot() });
  }
}

async function* orgAccounts(run: RunContext): AsyncGenerator<Listed> {
  const org = run.clients.organizations(run.homeRegion, run.options.credentials);
  const pages = paginate(
    async (token: string | undefined) => {
      const out = await run.call(
        "Organizations ListAccounts",
        true,
        (abortSignal) =>
          org.send(new OrgListAccountsCommand({ ...(token ? { NextToken: token } : {}) }), { abortSignal }),
        "the caller must be the management account or a delegated administrator",
      );
      return { items: out.Accounts ?? [], next: out.NextToken };
    },
    { signal: run.signal },
  );
  for await (const a of pages) {
    if (!a.Id) continue;
    yield { accountId: a.Id, accountName: a.Name ?? null, state: a.State ?? a.Status ?? "ACTIVE" };
  }
}

async function* ssoAccounts(run: RunContext, sso: SsoSession): AsyncGenerator<Listed> {
  const client = run.clients.sso(sso.region);
  const pages = paginate(
    async (token: string | undefined) => {
      const out = await sso.use((accessToken) =>
        run.call(
          "IAM Identity Center ListAccounts",
          true,
          (abortSignal) =>
            client.send(new SsoListAccountsCommand({ accessToken, ...(token ? { nextToken: token } : {}) }), {
              abortSignal,
            }),
          sso.loginHint,
        ),
      );
      return { items: out.accountList ?? [], next: out.nextToken };
    },
    { signal: run.signal },
  );
  for await (const a of pages) {
    if (a.accountId) yield { accountId: a.accountId, accountName: a.accountName ?? null };
  }
}

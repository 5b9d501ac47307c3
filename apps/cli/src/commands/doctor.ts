import { UsageError, redactSecrets } from "@cloudadmin/errors";
import type { CommandModule } from "../command-module.js";
import type { CommandContext } from "../context.js";
import { exitCodeForDoctor } from "../exit-codes.js";
import { azureCredential, trustedCa } from "../providers.js";
import type { SimulatorSession } from "../simulate.js";
import { buildClient as buildZoomClient } from "./zoom-licenses.js";

const PROVIDERS = ["aws", "azure", "graph", "zoom"] as const;
type Provider = (typeof PROVIDERS)[number];

/** One provider's answer. Never holds a secret: sources are described, not shown. */
interface DoctorCheck {
  provider: Provider;
  /** Where the credentials come from (`AWS_ACCESS_KEY_ID (environment)`, `DefaultAzureCredential`...). */
  credentials: string;
  endpoint: string;
  status: "ok" | "failed" | "not-configured";
  /** Who we are there, when the check got that far. */
  identity: string | null;
  message: string;
}

const SIM_SERVICE: Record<Provider, "aws" | "arg" | "graph" | "zoom"> = {
  aws: "aws",
  azure: "arg",
  graph: "graph",
  zoom: "zoom",
};

async function checkAws(ctx: CommandContext, row: DoctorCheck, signal: AbortSignal): Promise<DoctorCheck> {
  const lib = await import("@cloudadmin/ec2-ips");
  const env = ctx.env;
  const settings = await lib.resolveAwsSettings({ env, mode: "org" });
  const credentials = env.AWS_ACCESS_KEY_ID
    ? "AWS_ACCESS_KEY_ID (environment)"
    : env.AWS_WEB_IDENTITY_TOKEN_FILE
      ? "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)"
      : env.AWS_PROFILE
        ? `profile ${env.AWS_PROFILE}`
        : "the SDK's default chain (profile default, container or instance role)";
  const endpoint = settings.endpoints.sts ?? `https://sts.${settings.region}.amazonaws.com`;
  Object.assign(row, { credentials, endpoint });
  const access = await lib.checkAwsAccess({
    region: settings.region,
    endpoints: settings.endpoints,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    signal,
  });
  return {
    provider: "aws",
    credentials,
    endpoint,
    status: "ok",
    identity: `${access.arn} (account ${access.account})`,
    message: "STS GetCallerIdentity answered",
  };
}

/** Where Resource Graph and Graph take their endpoint and bearer token from (check and probe alike). */
const ARM_TARGET = {
  endpointVar: "CLOUDADMIN_ARM_ENDPOINT",
  defaultEndpoint: "https://management.azure.com",
  tokenVar: "CLOUDADMIN_ARM_TOKEN",
} as const;
const GRAPH_TARGET = {
  endpointVar: "CLOUDADMIN_GRAPH_ENDPOINT",
  defaultEndpoint: "https://graph.microsoft.com",
  tokenVar: "CLOUDADMIN_GRAPH_TOKEN",
} as const;

/**
 * Endpoint, credential and extra CA of a provider signed in through Entra ID (Resource Graph,
 * Graph). The row says the endpoint and the credentials' source at once, so a failure later still
 * reports them.
 */
async function azureTarget(
  ctx: CommandContext,
  row: DoctorCheck,
  sim: SimulatorSession | undefined,
  names: { endpointVar: string; defaultEndpoint: string; tokenVar: Parameters<typeof azureCredential>[1] },
) {
  const endpoint = ctx.endpoint(
    ctx.env[names.endpointVar] ?? names.defaultEndpoint,
    names.endpointVar,
  ).origin;
  const { credential, source } = await azureCredential(ctx, names.tokenVar);
  Object.assign(row, { credentials: source, endpoint });
  const ca = await trustedCa(ctx, sim);
  return { endpoint, credential, source, ca };
}

async function checkAzure(
  ctx: CommandContext,
  row: DoctorCheck,
  sim: SimulatorSession | undefined,
  signal: AbortSignal,
): Promise<DoctorCheck> {
  const { endpoint, credential, source, ca } = await azureTarget(ctx, row, sim, ARM_TARGET);
  const lib = await import("@cloudadmin/azure-vm-ips");
  const access = await lib.checkResourceGraphAccess({ credential, endpoint, ...(ca ? { ca } : {}), signal });
  return {
    provider: "azure",
    credentials: source,
    endpoint,
    status: "ok",
    identity: null,
    message: `Resource Graph answered: ${access.vms} VMs visible, quota remaining ${access.quotaRemaining ?? "unknown"}`,
  };
}

async function checkGraph(
  ctx: CommandContext,
  row: DoctorCheck,
  sim: SimulatorSession | undefined,
  signal: AbortSignal,
): Promise<DoctorCheck> {
  const { endpoint, credential, source, ca } = await azureTarget(ctx, row, sim, GRAPH_TARGET);
  const lib = await import("@cloudadmin/user-photos");
  await lib.checkGraphAccess({ credential, endpoint, ...(ca ? { ca } : {}), signal });
  return {
    provider: "graph",
    credentials: source,
    endpoint,
    status: "ok",
    identity: null,
    message: "users are readable",
  };
}

async function checkZoom(ctx: CommandContext, row: DoctorCheck, signal: AbortSignal): Promise<DoctorCheck> {
  const base: Omit<DoctorCheck, "status" | "message" | "identity"> = {
    provider: "zoom",
    credentials: "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET (Server-to-Server OAuth)",
    endpoint: ctx.env.ZOOM_API_URL ?? "https://api.zoom.us/v2",
  };
  Object.assign(row, base);
  if (!ctx.env.ZOOM_ACCOUNT_ID && !ctx.env.ZOOM_CLIENT_ID && !ctx.env.ZOOM_CLIENT_SECRET) {
    return { ...base, status: "not-configured", identity: null, message: "no ZOOM_* variables are set" };
  }
  const { lib, client } = await buildZoomClient(ctx, {});
  await lib.checkZoomAccess(client, signal);
  return {
    ...base,
    status: "ok",
    identity: `account ${ctx.env.ZOOM_ACCOUNT_ID}`,
    message: "token issued and users readable",
  };
}

/** One checked assumption of `doctor --probe` (the libraries' `ProbeResult`). Never holds a secret. */
interface ProbeRow {
  provider: string;
  assumption: string;
  status: "holds" | "differs" | "unknown";
  detail: string;
}

/**
 * The `--probe` calls for one provider whose basic check worked: the assumptions the job and our
 * simulator make about the real service, checked where only a real tenant can confirm them.
 */
async function probeProvider(
  ctx: CommandContext,
  provider: Provider,
  sim: SimulatorSession | undefined,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<ProbeRow[]> {
  const scratch: DoctorCheck = {
    provider,
    credentials: "",
    endpoint: "",
    status: "ok",
    identity: null,
    message: "",
  };
  switch (provider) {
    case "aws": {
      const lib = await import("@cloudadmin/ec2-ips");
      let settings: Awaited<ReturnType<typeof lib.resolveAwsSettings>>;
      try {
        settings = await lib.resolveAwsSettings({ env: ctx.env, mode: "sso" });
      } catch {
        ctx.log.info(
          "aws: the profile has no IAM Identity Center (SSO) settings; the SSO refresh probe does not apply",
        );
        return [];
      }
      if (!settings.sso) return [];
      const home = ctx.env.HOME ?? ctx.env.USERPROFILE;
      return lib.probeSsoRefresh({
        sso: settings.sso,
        endpoints: settings.endpoints,
        ...(home ? { home } : {}),
        signal,
        timeoutMs,
      });
    }
    case "azure": {
      const { endpoint, credential, ca } = await azureTarget(ctx, scratch, sim, ARM_TARGET);
      const lib = await import("@cloudadmin/azure-vm-ips");
      return lib.probeResourceGraph({ credential, endpoint, ...(ca ? { ca } : {}), signal, timeoutMs });
    }
    case "graph": {
      const { endpoint, credential, ca } = await azureTarget(ctx, scratch, sim, GRAPH_TARGET);
      const lib = await import("@cloudadmin/user-photos");
      // A few users, so that one without a photo shows which "no photo" form the tenant uses.
      return lib.probeGraphPhotos({
        credential,
        endpoint,
        ...(ca ? { ca } : {}),
        signal,
        timeoutMs,
        maxUsers: 25,
      });
    }
    case "zoom": {
      const { lib, client } = await buildZoomClient(ctx, {});
      return lib.probeZoomRateLimits({ client, signal });
    }
  }
}

/** A provider's basic check as the first `--probe` row. */
function checkRow(check: DoctorCheck): ProbeRow {
  return {
    provider: check.provider,
    assumption: "the credentials work (a harmless authenticated call)",
    status: check.status === "ok" ? "holds" : "differs",
    detail: [check.identity, check.message, check.endpoint && `at ${check.endpoint}`]
      .filter(Boolean)
      .join("; "),
  };
}

export const doctorCommand: CommandModule = {
  name: "doctor",
  summary: "say which credentials and endpoint each provider would use, and whether they work",
  configure(command) {
    command
      .option("--providers <list>", `comma-separated providers to check (${PROVIDERS.join(",")})`)
      .option(
        "--probe",
        "also check the real-service assumptions the jobs rely on (a few more harmless calls per provider)",
      )
      .addHelpText(
        "after",
        "\nFor each provider: where the credentials come from (never the secret itself), the endpoint, and\nwhether a harmless call there succeeds (STS GetCallerIdentity, one Resource Graph row, one Graph\nuser, one Zoom user). Exit 0 when every configured provider works, 3 when one refuses the\ncredentials or is misconfigured, 4 when one cannot be reached.\n\nWith --probe, each configured provider that works is asked a few more harmless questions: Resource\nGraph pages the inventory query, sends its quota headers and lets ComputeResources be read; Graph's\nphoto mediaEtag matches $value; Zoom's rate-limit headers are what the pacing expects; the SSO\ntoken can be refreshed. Each assumption is reported as holds, differs (with what was seen) or\nunknown; exit 0 when all hold, 5 otherwise. Attach the output to a bug report: it holds no secret.\n\nExamples:\n  cloudadmin doctor\n  cloudadmin doctor --probe -o table\n  cloudadmin doctor --providers azure,graph -o json\n  cloudadmin doctor --simulate\n",
      );
  },
  async run(ctx, options) {
    const wanted =
      options.providers === undefined
        ? [...PROVIDERS]
        : String(options.providers)
            .split(",")
            .map((s) => s.trim());
    for (const p of wanted) {
      if (!(PROVIDERS as readonly string[]).includes(p)) {
        throw new UsageError(`--providers: unknown provider '${p}' (choose from ${PROVIDERS.join(", ")})`);
      }
    }
    const providers = wanted as Provider[];
    const sim = await ctx.simulate(providers.map((p) => SIM_SERVICE[p]));
    const { DEFAULT_TIMEOUT_MS } = await import("@cloudadmin/paging");
    const timeoutMs = ctx.globals.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const checks: DoctorCheck[] = [];
    const failures: unknown[] = [];
    const probes: ProbeRow[] = [];
    for (const provider of providers) {
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
      const row: DoctorCheck = {
        provider,
        credentials: "",
        endpoint: "",
        status: "failed",
        identity: null,
        message: "",
      };
      try {
        const check =
          provider === "aws"
            ? await checkAws(ctx, row, signal)
            : provider === "azure"
              ? await checkAzure(ctx, row, sim, signal)
              : provider === "graph"
                ? await checkGraph(ctx, row, sim, signal)
                : await checkZoom(ctx, row, signal);
        checks.push(check);
        if (options.probe === true && check.status === "ok") {
          try {
            const found = await probeProvider(ctx, provider, sim, signal, timeoutMs);
            // Each library names its service its own way; the rows use doctor's provider names.
            probes.push(...found.map((p) => ({ ...p, provider })));
          } catch (error) {
            if (ctx.signal.aborted) throw error;
            const detail = redactSecrets(error instanceof Error ? error.message : String(error));
            probes.push({ provider, assumption: "the probe calls could be made", status: "unknown", detail });
          }
        }
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        failures.push(error);
        row.message = redactSecrets(error instanceof Error ? error.message : String(error));
        checks.push(row);
      }
    }
    if (options.probe === true) {
      // One row per assumption, each provider's basic check first; providers that are not set up
      // are left out (there is nothing of theirs to probe).
      const rows = providers.flatMap((provider) => {
        const check = checks.find((c) => c.provider === provider);
        if (!check || check.status === "not-configured") return [];
        return [checkRow(check), ...probes.filter((p) => p.provider === provider)];
      });
      await ctx.emit({
        items: (async function* () {
          yield* rows;
        })(),
        errors: () => [],
        summary: () => ({
          holds: rows.filter((r) => r.status === "holds").length,
          differs: rows.filter((r) => r.status === "differs").length,
          unknown: rows.filter((r) => r.status === "unknown").length,
          notConfigured: checks.filter((c) => c.status === "not-configured").map((c) => c.provider),
        }),
        columns: ["provider", "status", "assumption", "detail"],
      });
      return exitCodeForDoctor(failures, rows);
    }
    await ctx.emit({
      items: (async function* () {
        yield* checks;
      })(),
      errors: () => [],
      summary: () => ({
        ok: checks.filter((c) => c.status === "ok").length,
        failed: checks.filter((c) => c.status === "failed").length,
        notConfigured: checks.filter((c) => c.status === "not-configured").length,
      }),
      columns: ["provider", "status", "credentials", "endpoint", "identity", "message"],
    });
    return exitCodeForDoctor(failures, []);
  },
};

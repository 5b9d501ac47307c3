import type { Clock } from "../../clock.js";
import type { Rng } from "../../rng.js";
import type { BucketSpec } from "../../token-bucket.js";
import type { RequestInfo, ServiceContext, SimRequest, SimResponse, SimService } from "../../types.js";
import {
  type AwsAccount,
  type AwsDataset,
  type AwsInstance,
  DEFAULT_ROLE_NAME,
  enabledRegionsOf,
} from "./dataset.js";
import {
  EC2_VERSION,
  ORGANIZATIONS_TARGET,
  STS_VERSION,
  decodeToken,
  ec2Error,
  ec2Ok,
  encodeToken,
  isForm,
  jsonError,
  jsonOk,
  parseSigV4,
  restError,
  restOk,
  stsError,
  stsOk,
  target,
} from "./protocol.js";
import { ALL_REGIONS, DEFAULT_REGIONS } from "./regions.js";
import { esc, instanceXml } from "./xml.js";

/** EC2's documented buckets (per account, region and action). */
export interface AwsLimits {
  /** Paginated or filtered Describe* calls: 100 burst, 20 per second. */
  ec2: BucketSpec;
  /** Unfiltered and unpaginated DescribeInstances: 50 burst, 10 per second. */
  ec2Unpaginated: BucketSpec;
}

export const DEFAULT_AWS_LIMITS: AwsLimits = {
  ec2: { burst: 100, perSecond: 20 },
  ec2Unpaginated: { burst: 50, perSecond: 10 },
};

/** Fake credentials of the management account: clearly simulator values, never real keys. */
export const SIM_SECRET_ACCESS_KEY = "cloudadmin-sim-secret-not-a-real-aws-key";

interface Identity {
  accountId: string;
  arn: string;
  userId: string;
  secret: string;
  sessionToken?: string;
  /** ms on the simulator clock; absent for the management account's long-term key. */
  expiresAt?: number;
  /** Assumed-role sessions cannot chain beyond one hour. */
  assumedRole: boolean;
}

interface Parsed {
  api: "ec2" | "sts" | "organizations" | "sso" | "sso-oidc";
  action: string;
  params: URLSearchParams;
  scope: ReturnType<typeof parseSigV4>;
  identity?: Identity;
}

const ORG_PAGE_MAX = 20;

function managementAccessKeyId(accountId: string): string {
  return `AKIASIM${accountId}0`;
}

/** The simulator's AWS: EC2, STS, Organizations and the IAM Identity Center portal on one endpoint. */
export class AwsSimService implements SimService {
  readonly name = "aws";
  /** EC2 buckets; change them before the first request. */
  limits: AwsLimits = structuredClone(DEFAULT_AWS_LIMITS);
  private readonly data: AwsDataset & { managementAccountId: string; accounts: AwsAccount[] };
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly identities = new Map<string, Identity>();
  private readonly parsed = new WeakMap<SimRequest, Parsed>();
  private readonly accounts = new Map<string, AwsAccount>();
  private readonly xmlCache = new Map<AwsInstance, string>();
  private readonly assumeRoles = new Map<string, number>();
  /** Access tokens the portal accepts (the dataset's, and each CreateToken's) -> expiry (ms, wall clock), null for never. */
  private readonly ssoTokens = new Map<string, number | null>();
  private ssoCallsLeft: number | null = null;
  /** The refresh token CreateToken accepts now (rotated on each refresh unless `ssoRefresh.rotate` is false). */
  private ssoRefreshToken: string | undefined;
  /**
   * SSO-OIDC `CreateToken` behaviour (tests): `refuse` answers every refresh with
   * `InvalidGrantException` (refresh token revoked or session ended) or `InvalidClientException`
   * (client registration expired); `lifetimeSeconds` is the new token's `expiresIn`; `rotate` says
   * whether a refresh returns a new refresh token (the API reference says it "can" be present), in
   * which case the old one stops working.
   */
  ssoRefresh: {
    refuse: "invalid_grant" | "invalid_client" | null;
    lifetimeSeconds: number;
    rotate: boolean;
  } = {
    refuse: null,
    lifetimeSeconds: 3600,
    rotate: true,
  };
  private keySerial = 0;

  constructor(data: AwsDataset | undefined, options: { clock: Clock; rng: Rng }) {
    this.data = {
      ...data,
      managementAccountId: data?.managementAccountId ?? "111111111111",
      accounts: data?.accounts ?? [],
    };
    this.clock = options.clock;
    this.rng = options.rng;
    for (const a of this.data.accounts) this.accounts.set(a.Id, a);
    const mgmt = this.data.managementAccountId;
    this.identities.set(managementAccessKeyId(mgmt), {
      accountId: mgmt,
      arn: `arn:aws:iam::${mgmt}:user/cloudadmin-sim`,
      userId: "AIDASIMULATORUSER0001",
      secret: SIM_SECRET_ACCESS_KEY,
      assumedRole: false,
    });
    if (this.data.sso) {
      const at = this.data.sso.expiresAt;
      this.ssoTokens.set(this.data.sso.accessToken, at ? Date.parse(at) : null);
      this.ssoRefreshToken = this.data.sso.refreshToken;
    }
    // Rendered once up front: the simulator shares the machine with the client it serves, and
    // EC2's own serialisation cost is not the client's.
    for (const byRegion of Object.values(this.data.instances ?? {})) {
      for (const list of Object.values(byRegion)) for (const inst of list) this.renderInstance(inst);
    }
  }

  private renderInstance(inst: AwsInstance): string {
    let xml = this.xmlCache.get(inst);
    if (xml === undefined) {
      const parts: string[] = [];
      instanceXml(inst, parts);
      xml = parts.join("");
      this.xmlCache.set(inst, xml);
    }
    return xml;
  }

  /** The management account's long-term key pair (what `environment()` exports). */
  managementCredentials(): { accessKeyId: string; secretAccessKey: string; accountId: string } {
    const id = this.data.managementAccountId;
    return { accessKeyId: managementAccessKeyId(id), secretAccessKey: SIM_SECRET_ACCESS_KEY, accountId: id };
  }

  /**
   * What `aws sso login` does (tests): the dataset's access token is valid again until `expiresAt`
   * (null: never) and the dataset's refresh token is the one CreateToken accepts.
   */
  ssoLogin(expiresAt: Date | null): void {
    this.setSsoTokenExpiry(expiresAt);
    this.ssoRefreshToken = this.data.sso?.refreshToken;
  }

  /** Sets when the dataset's SSO access token expires (wall clock), or null for never. */
  setSsoTokenExpiry(at: Date | null): void {
    if (this.data.sso) this.ssoTokens.set(this.data.sso.accessToken, at ? at.getTime() : null);
  }

  /** Makes the SSO access token expire after `calls` more successful portal calls (tests). */
  expireSsoTokenAfter(calls: number): void {
    this.ssoCallsLeft = calls;
  }

  /** AssumeRole calls per target account so far. */
  assumeRoleCounts(): Record<string, number> {
    return Object.fromEntries(this.assumeRoles);
  }

  environment(origins: { http: string; https: string }): Record<string, string> {
    const creds = this.managementCredentials();
    return {
      AWS_ENDPOINT_URL: origins.http,
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_REGION: "us-east-1",
    };
  }

  classify(req: SimRequest): RequestInfo | null {
    const path = req.url.pathname;
    if (req.method === "POST" && path === "/token") {
      this.parsed.set(req, {
        api: "sso-oidc",
        action: "CreateToken",
        params: req.url.searchParams,
        scope: null,
      });
      return { operation: "sso-oidc:CreateToken", principal: "sso-oidc" };
    }
    if (req.method === "GET" && (path.startsWith("/assignment/") || path.startsWith("/federation/"))) {
      const action =
        path === "/assignment/accounts"
          ? "ListAccounts"
          : path === "/assignment/roles"
            ? "ListAccountRoles"
            : path === "/federation/credentials"
              ? "GetRoleCredentials"
              : `Unknown${path}`;
      this.parsed.set(req, { api: "sso", action, params: req.url.searchParams, scope: null });
      return { operation: `sso:${action}`, principal: "sso" };
    }
    if (req.method === "POST" && path === "/logout") {
      this.parsed.set(req, { api: "sso", action: "Logout", params: req.url.searchParams, scope: null });
      return { operation: "sso:Logout", principal: "sso" };
    }
    const scope = parseSigV4(req);
    const t = target(req);
    if (t?.startsWith(ORGANIZATIONS_TARGET)) {
      const action = t.slice(ORGANIZATIONS_TARGET.length);
      const identity = scope ? this.identities.get(scope.accessKeyId) : undefined;
      this.parsed.set(req, { api: "organizations", action, params: new URLSearchParams(), scope, identity });
      return { operation: `organizations:${action}`, principal: identity?.accountId ?? "anonymous" };
    }
    if (!isForm(req)) return null;
    const params = new URLSearchParams(req.body.toString("utf8"));
    const version = params.get("Version");
    const api =
      version === EC2_VERSION || (!version && scope?.service === "ec2")
        ? "ec2"
        : version === STS_VERSION || (!version && scope?.service === "sts")
          ? "sts"
          : null;
    if (!api) return null;
    const action = params.get("Action") ?? "";
    const identity = scope ? this.identities.get(scope.accessKeyId) : undefined;
    this.parsed.set(req, { api, action, params, scope, identity });
    return {
      operation: `${api}:${action}`,
      principal: `${identity?.accountId ?? "anonymous"}/${scope?.region ?? "?"}`,
    };
  }

  handle(req: SimRequest, info: RequestInfo, ctx: ServiceContext): SimResponse {
    const p = this.parsed.get(req);
    const requestId = this.rng.uuid();
    if (!p) return ec2Error(400, "InvalidRequest", `cannot route ${info.operation}`, requestId);
    switch (p.api) {
      case "ec2":
        return this.ec2(p, req, requestId, ctx);
      case "sts":
        return this.sts(p, req, requestId);
      case "organizations":
        return this.organizations(p, req, requestId, ctx);
      case "sso":
        return this.sso(p, req, requestId);
      case "sso-oidc":
        return this.createToken(req, requestId);
    }
  }

  faultResponse(kind: "error" | "throttle", req: SimRequest, info: RequestInfo): SimResponse {
    const requestId = this.rng.uuid();
    const api = info.operation.split(":")[0];
    if (api === "ec2") {
      return kind === "throttle"
        ? ec2Error(503, "RequestLimitExceeded", "Request limit exceeded.", requestId)
        : ec2Error(503, "Unavailable", "The service is unavailable. Please try again shortly.", requestId);
    }
    if (api === "sts") {
      return kind === "throttle"
        ? stsError(400, "Throttling", "Rate exceeded", requestId)
        : stsError(500, "InternalFailure", "An internal error occurred.", requestId, "Receiver");
    }
    if (api === "organizations") {
      return kind === "throttle"
        ? jsonError(
            400,
            "TooManyRequestsException",
            "AWS Organizations can't complete your request because another request is already in progress. Try again later.",
            requestId,
          )
        : jsonError(
            500,
            "ServiceException",
            "AWS Organizations can't complete your request because of an internal service error. Try again later.",
            requestId,
          );
    }
    void req;
    return kind === "throttle"
      ? restError(429, "TooManyRequestsException", "Too many requests", requestId)
      : restError(500, "InternalServerException", "An internal error occurred", requestId);
  }

  // ---- identity -------------------------------------------------------------------------------

  private authenticate(p: Parsed, req: SimRequest): Identity | "missing" | "invalid" | "expired" {
    if (!p.scope) return "missing";
    const id = p.identity;
    if (!id) return "invalid";
    if (id.sessionToken !== undefined && req.headers["x-amz-security-token"] !== id.sessionToken)
      return "invalid";
    if (id.expiresAt !== undefined && this.clock.date().getTime() >= id.expiresAt) return "expired";
    return id;
  }

  private mint(
    accountId: string,
    arn: string,
    userId: string,
    seconds: number,
  ): Identity & { accessKeyId: string } {
    this.keySerial++;
    const accessKeyId = `ASIA${accountId.slice(-8)}${this.keySerial.toString(36).toUpperCase().padStart(8, "0")}`;
    const identity: Identity = {
      accountId,
      arn,
      userId,
      secret: `sim/${this.rng.hex(36)}`,
      sessionToken: `SimSessionToken/${this.rng.hex(48)}`,
      expiresAt: this.clock.date().getTime() + seconds * 1000,
      assumedRole: true,
    };
    this.identities.set(accessKeyId, identity);
    return { ...identity, accessKeyId };
  }

  private accountActive(id: string): boolean {
    return this.accounts.get(id)?.State === "ACTIVE";
  }

  // ---- EC2 ------------------------------------------------------------------------------------

  private ec2(p: Parsed, req: SimRequest, requestId: string, ctx: ServiceContext): SimResponse {
    const identity = this.authenticate(p, req);
    if (identity === "missing" || identity === "invalid") {
      return ec2Error(
        401,
        "AuthFailure",
        "AWS was not able to validate the provided access credentials",
        requestId,
      );
    }
    if (identity === "expired") return ec2Error(400, "RequestExpired", "Request has expired.", requestId);
    const region = p.scope?.region ?? "";
    if (p.params.get("Version") !== EC2_VERSION) {
      return ec2Error(400, "MissingParameter", "The request must contain the parameter Version", requestId);
    }
    const account = identity.accountId;
    if (!this.accountActive(account)) {
      return ec2Error(
        401,
        "AuthFailure",
        "AWS was not able to validate the provided access credentials",
        requestId,
      );
    }
    if (!enabledRegionsOf(this.data, account).includes(region)) {
      return ec2Error(
        401,
        "AuthFailure",
        "AWS was not able to validate the provided access credentials",
        requestId,
      );
    }
    switch (p.action) {
      case "DescribeRegions":
        return this.describeRegions(p, identity, region, requestId, ctx);
      case "DescribeInstances":
        return this.describeInstances(p, identity, region, requestId, ctx);
      default:
        return ec2Error(
          400,
          "InvalidAction",
          `The action ${p.action} is not valid for this web service.`,
          requestId,
        );
    }
  }

  private throttled(key: string, spec: BucketSpec, ctx: ServiceContext): boolean {
    return !ctx.bucket(key, spec).take().ok;
  }

  private describeRegions(
    p: Parsed,
    identity: Identity,
    region: string,
    requestId: string,
    ctx: ServiceContext,
  ): SimResponse {
    if (this.throttled(`ec2:${identity.accountId}:${region}:DescribeRegions`, this.limits.ec2, ctx)) {
      return {
        ...ec2Error(503, "RequestLimitExceeded", "Request limit exceeded.", requestId),
        throttled: true,
      };
    }
    if (this.data.describeRegionsDenied?.includes(identity.accountId)) {
      return ec2Error(
        403,
        "UnauthorizedOperation",
        `You are not authorized to perform this operation. User: ${identity.arn} is not authorized to perform: ec2:DescribeRegions with an explicit deny in a service control policy`,
        requestId,
      );
    }
    const all = p.params.get("AllRegions") === "true";
    const enabled = enabledRegionsOf(this.data, identity.accountId);
    const names = listParam(p.params, "RegionName");
    const filters = parseFilters(p.params);
    const out: string[] = ["<regionInfo>"];
    for (const name of ALL_REGIONS) {
      const on = enabled.includes(name);
      if (!all && !on) continue;
      if (names.length > 0 && !names.includes(name)) continue;
      const status = DEFAULT_REGIONS.includes(name)
        ? "opt-in-not-required"
        : on
          ? "opted-in"
          : "not-opted-in";
      const f = filters.get("region-name");
      if (f && !f.includes(name)) continue;
      const s = filters.get("opt-in-status");
      if (s && !s.includes(status)) continue;
      out.push(
        `<item><regionName>${name}</regionName><regionEndpoint>ec2.${name}.amazonaws.com</regionEndpoint><optInStatus>${status}</optInStatus></item>`,
      );
    }
    out.push("</regionInfo>");
    return ec2Ok("DescribeRegions", out.join(""), requestId);
  }

  private describeInstances(
    p: Parsed,
    identity: Identity,
    region: string,
    requestId: string,
    ctx: ServiceContext,
  ): SimResponse {
    const account = identity.accountId;
    const maxRaw = p.params.get("MaxResults");
    const ids = listParam(p.params, "InstanceId");
    let filters: Map<string, string[]>;
    try {
      filters = parseFilters(p.params);
    } catch (error) {
      return ec2Error(400, "InvalidParameterValue", (error as Error).message, requestId);
    }
    const paginated = maxRaw !== null || p.params.has("NextToken");
    const unfiltered = ids.length === 0 && filters.size === 0;
    const bucket =
      !paginated && unfiltered
        ? { key: `ec2:${account}:${region}:DescribeInstances#unpaginated`, spec: this.limits.ec2Unpaginated }
        : { key: `ec2:${account}:${region}:DescribeInstances`, spec: this.limits.ec2 };
    if (this.throttled(bucket.key, bucket.spec, ctx)) {
      return {
        ...ec2Error(503, "RequestLimitExceeded", "Request limit exceeded.", requestId),
        throttled: true,
      };
    }
    if (this.data.regionsDenied?.[account]?.includes(region)) {
      return ec2Error(
        403,
        "UnauthorizedOperation",
        `You are not authorized to perform this operation. User: ${identity.arn} is not authorized to perform: ec2:DescribeInstances with an explicit deny in a service control policy`,
        requestId,
      );
    }
    let max = Number.POSITIVE_INFINITY;
    if (maxRaw !== null) {
      const n = Number(maxRaw);
      if (!Number.isInteger(n) || n < 5 || n > 1000) {
        return ec2Error(
          400,
          "InvalidParameterValue",
          `Value ( ${maxRaw} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
          requestId,
        );
      }
      if (ids.length > 0) {
        return ec2Error(
          400,
          "InvalidParameterCombination",
          "The parameter instancesSet cannot be used with the parameter maxResults",
          requestId,
        );
      }
      max = n;
    }
    const all = this.data.instances?.[account]?.[region] ?? [];
    if (ids.length > 0) {
      const missing = ids.filter((id) => !all.some((i) => i.InstanceId === id));
      if (missing.length > 0) {
        return ec2Error(
          400,
          "InvalidInstanceID.NotFound",
          `The instance IDs '${missing.join(", ")}' do not exist`,
          requestId,
        );
      }
    }
    const selected = all.filter(
      (i) => (ids.length === 0 || ids.includes(i.InstanceId)) && matches(i, filters),
    );
    const binding = `${account}/${region}/${[...filters].map(([k, v]) => `${k}=${v.join(",")}`).join("&")}`;
    let offset = 0;
    const token = p.params.get("NextToken");
    if (token) {
      const decoded = decodeToken(token, binding);
      if (decoded === null) {
        return ec2Error(400, "InvalidParameterValue", "The specified NextToken is not valid.", requestId);
      }
      offset = decoded;
    }
    const page = selected.slice(offset, offset + max);
    const next = offset + page.length < selected.length ? encodeToken(offset + page.length, binding) : null;
    const out: string[] = ["<reservationSet>"];
    for (const inst of page) {
      const xml = this.renderInstance(inst);
      out.push(
        `<item><reservationId>r-${inst.InstanceId.slice(2)}</reservationId><ownerId>${account}</ownerId><groupSet/><instancesSet>${xml}</instancesSet></item>`,
      );
    }
    out.push("</reservationSet>");
    if (next) out.push(`<nextToken>${next}</nextToken>`);
    ctx.count("ec2Instances", page.length);
    return ec2Ok("DescribeInstances", out.join(""), requestId);
  }

  // ---- STS ------------------------------------------------------------------------------------

  private sts(p: Parsed, req: SimRequest, requestId: string): SimResponse {
    const auth = this.authenticate(p, req);
    if (auth === "missing") {
      return stsError(
        403,
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
        requestId,
      );
    }
    if (auth === "invalid") {
      return stsError(
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        requestId,
      );
    }
    if (auth === "expired") {
      return stsError(
        400,
        "ExpiredToken",
        "The security token included in the request is expired",
        requestId,
      );
    }
    const region = p.scope?.region ?? "us-east-1";
    if (!enabledRegionsOf(this.data, auth.accountId).includes(region)) {
      return stsError(
        403,
        "RegionDisabledException",
        `STS is not activated in this region for account:${auth.accountId}. Your account administrator can activate STS in this region using the IAM Console.`,
        requestId,
      );
    }
    switch (p.action) {
      case "GetCallerIdentity":
        return stsOk(
          "GetCallerIdentity",
          `\n    <Arn>${esc(auth.arn)}</Arn>\n    <UserId>${esc(auth.userId)}</UserId>\n    <Account>${auth.accountId}</Account>\n  `,
          requestId,
        );
      case "AssumeRole":
        return this.assumeRole(p, auth, requestId);
      default:
        return stsError(
          400,
          "InvalidAction",
          `Could not find operation ${p.action} for version ${STS_VERSION}`,
          requestId,
        );
    }
  }

  private assumeRole(p: Parsed, caller: Identity, requestId: string): SimResponse {
    const roleArn = p.params.get("RoleArn") ?? "";
    const session = p.params.get("RoleSessionName") ?? "";
    const m = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/.exec(roleArn);
    if (!m) {
      return stsError(400, "ValidationError", `${roleArn || "RoleArn"} is invalid`, requestId);
    }
    if (!/^[\w+=,.@-]{2,64}$/.test(session)) {
      return stsError(
        400,
        "ValidationError",
        "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        requestId,
      );
    }
    const duration = Number(p.params.get("DurationSeconds") ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      return stsError(400, "ValidationError", "DurationSeconds must be between 900 and 43200", requestId);
    }
    if (caller.assumedRole && duration > 3600) {
      return stsError(
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        requestId,
      );
    }
    const [, account, role] = m as unknown as [string, string, string];
    this.assumeRoles.set(account, (this.assumeRoles.get(account) ?? 0) + 1);
    const denied =
      !this.accountActive(account) ||
      account === this.data.managementAccountId ||
      role !== (this.data.roleName ?? DEFAULT_ROLE_NAME) ||
      this.data.assumeRoleDenied?.includes(account);
    if (denied) {
      return stsError(
        403,
        "AccessDenied",
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        requestId,
      );
    }
    const roleId = `AROASIM${account.slice(-8)}`;
    const minted = this.mint(
      account,
      `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
      `${roleId}:${session}`,
      duration,
    );
    return stsOk(
      "AssumeRole",
      `\n    <AssumedRoleUser>\n      <Arn>${esc(minted.arn)}</Arn>\n      <AssumedRoleId>${esc(minted.userId)}</AssumedRoleId>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>${minted.accessKeyId}</AccessKeyId>\n      <SecretAccessKey>${minted.secret}</SecretAccessKey>\n      <SessionToken>${minted.sessionToken}</SessionToken>\n      <Expiration>${new Date(minted.expiresAt as number).toISOString().replace(/\.\d{3}Z$/, "Z")}</Expiration>\n    </Credentials>\n  `,
      requestId,
    );
  }

  // ---- Organizations --------------------------------------------------------------------------

  private organizations(p: Parsed, req: SimRequest, requestId: string, ctx: ServiceContext): SimResponse {
    const auth = this.authenticate(p, req);
    if (auth === "missing")
      return jsonError(400, "MissingAuthenticationTokenException", "Missing Authentication Token", requestId);
    if (auth === "invalid") {
      return jsonError(
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        requestId,
      );
    }
    if (auth === "expired") {
      return jsonError(
        400,
        "ExpiredTokenException",
        "The security token included in the request is expired",
        requestId,
      );
    }
    if (auth.accountId !== this.data.managementAccountId) {
      return jsonError(
        400,
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
        requestId,
      );
    }
    let body: Record<string, unknown>;
    try {
      const text = req.body.toString("utf8");
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return jsonError(400, "SerializationException", "Malformed request body", requestId);
    }
    const mgmt = this.data.managementAccountId;
    const orgId = this.data.organizationId ?? `o-sim${mgmt.slice(0, 8)}`;
    switch (p.action) {
      case "DescribeOrganization": {
        const email = this.accounts.get(mgmt)?.Email ?? "";
        return jsonOk(
          {
            Organization: {
              Id: orgId,
              Arn: `arn:aws:organizations::${mgmt}:organization/${orgId}`,
              FeatureSet: "ALL",
              MasterAccountArn: `arn:aws:organizations::${mgmt}:account/${orgId}/${mgmt}`,
              MasterAccountId: mgmt,
              MasterAccountEmail: email,
              AvailablePolicyTypes: [{ Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED" }],
            },
          },
          requestId,
        );
      }
      case "ListAccounts": {
        const maxRaw = body.MaxResults;
        if (
          maxRaw !== undefined &&
          (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1 || maxRaw > 20)
        ) {
          return jsonError(
            400,
            "InvalidInputException",
            "You provided a value that does not match the required pattern.",
            requestId,
          );
        }
        const size = Math.min((maxRaw as number | undefined) ?? ORG_PAGE_MAX, ORG_PAGE_MAX);
        let offset = 0;
        if (typeof body.NextToken === "string") {
          const decoded = decodeToken(body.NextToken, `org/${mgmt}`);
          if (decoded === null) {
            return jsonError(
              400,
              "InvalidInputException",
              "You specified an invalid value for nextToken.",
              requestId,
            );
          }
          offset = decoded;
        }
        const all = this.data.accounts;
        if (
          offset < all.length &&
          ctx.faults.emptyPageRate > 0 &&
          this.rng.chance(ctx.faults.emptyPageRate)
        ) {
          ctx.count("emptyPages");
          return jsonOk({ Accounts: [], NextToken: encodeToken(offset, `org/${mgmt}`) }, requestId);
        }
        const page = all.slice(offset, offset + size);
        const end = offset + page.length;
        return jsonOk(
          {
            Accounts: page.map((a) => ({
              Id: a.Id,
              Arn: `arn:aws:organizations::${mgmt}:account/${orgId}/${a.Id}`,
              Email: a.Email,
              Name: a.Name,
              Status:
                a.State === "ACTIVE" || a.State === "SUSPENDED" || a.State === "PENDING_CLOSURE"
                  ? a.State
                  : "SUSPENDED",
              State: a.State,
              JoinedMethod: a.JoinedMethod ?? "CREATED",
              JoinedTimestamp: Date.parse(a.JoinedTimestamp ?? "2020-01-01T00:00:00Z") / 1000,
            })),
            ...(end < all.length ? { NextToken: encodeToken(end, `org/${mgmt}`) } : {}),
          },
          requestId,
        );
      }
      default:
        return jsonError(400, "UnknownOperationException", `Unknown operation ${p.action}`, requestId);
    }
  }

  // ---- SSO-OIDC -------------------------------------------------------------------------------

  /**
   * `CreateToken` (POST /token, restJson, unsigned) for the refresh-token grant, as the SDKs call it
   * for an `sso_session` within 5 minutes of expiry. Errors as the IAM Identity Center OIDC API
   * reference lists them: `{ error, error_description }` with `x-amzn-ErrorType`.
   */
  private createToken(req: SimRequest, requestId: string): SimResponse {
    const oidcError = (status: number, type: string, error: string, description: string): SimResponse => ({
      status,
      headers: {
        "content-type": "application/json",
        "x-amzn-requestid": requestId,
        "x-amzn-errortype": type,
      },
      body: JSON.stringify({ error, error_description: description }),
    });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body.toString("utf8") || "{}") as Record<string, unknown>;
    } catch {
      return oidcError(400, "InvalidRequestException", "invalid_request", "Malformed request body");
    }
    const sso = this.data.sso;
    const { clientId, clientSecret, grantType, refreshToken } = body;
    if (typeof clientId !== "string" || typeof clientSecret !== "string" || typeof grantType !== "string") {
      return oidcError(
        400,
        "InvalidRequestException",
        "invalid_request",
        "clientId, clientSecret and grantType are required",
      );
    }
    if (grantType !== "refresh_token") {
      return oidcError(
        400,
        "UnsupportedGrantTypeException",
        "unsupported_grant_type",
        `grant type ${grantType} is not supported here`,
      );
    }
    if (
      !sso?.clientId ||
      clientId !== sso.clientId ||
      clientSecret !== sso.clientSecret ||
      this.ssoRefresh.refuse === "invalid_client"
    ) {
      return oidcError(
        401,
        "InvalidClientException",
        "invalid_client",
        "Client registration is invalid or has expired",
      );
    }
    if (
      typeof refreshToken !== "string" ||
      refreshToken !== this.ssoRefreshToken ||
      this.ssoRefresh.refuse === "invalid_grant"
    ) {
      return oidcError(400, "InvalidGrantException", "invalid_grant", "Invalid refresh token provided");
    }
    const accessToken = `sim-sso-token-${this.rng.hex(24)}`;
    const lifetime = this.ssoRefresh.lifetimeSeconds;
    this.ssoTokens.set(accessToken, this.clock.date().getTime() + lifetime * 1000);
    if (this.ssoRefresh.rotate) this.ssoRefreshToken = `sim-sso-refresh-${this.rng.hex(24)}`;
    return restOk(
      {
        accessToken,
        tokenType: "Bearer",
        expiresIn: lifetime,
        ...(this.ssoRefresh.rotate ? { refreshToken: this.ssoRefreshToken } : {}),
      },
      requestId,
    );
  }

  // ---- SSO portal -----------------------------------------------------------------------------

  private sso(p: Parsed, req: SimRequest, requestId: string): SimResponse {
    const sso = this.data.sso;
    const raw = req.headers["x-amz-sso_bearer_token"];
    const token = Array.isArray(raw) ? raw[0] : raw;
    const unauthorized = () =>
      restError(401, "UnauthorizedException", "Session token not found or invalid", requestId);
    if (!sso || !token || !this.ssoTokens.has(token)) return unauthorized();
    const expiresAt = this.ssoTokens.get(token) ?? null;
    if (expiresAt !== null && this.clock.date().getTime() >= expiresAt) return unauthorized();
    if (this.ssoCallsLeft !== null) {
      if (this.ssoCallsLeft <= 0) return unauthorized();
      this.ssoCallsLeft--;
    }
    const q = p.params;
    const rolesOf = (id: string): string[] =>
      sso.accounts.includes(id) ? (sso.roles?.[id] ?? [sso.roleName]) : [];
    const pageOf = <T>(items: T[], binding: string): SimResponse | { page: T[]; next?: string } => {
      const maxRaw = q.get("max_result");
      const max = maxRaw === null ? 20 : Number(maxRaw);
      if (!Number.isInteger(max) || max < 1 || max > 100) {
        return restError(400, "InvalidRequestException", "max_result must be between 1 and 100", requestId);
      }
      let offset = 0;
      const t = q.get("next_token");
      if (t) {
        const d = decodeToken(t, binding);
        if (d === null) return restError(400, "InvalidRequestException", "Invalid next token", requestId);
        offset = d;
      }
      const page = items.slice(offset, offset + max);
      const end = offset + page.length;
      return end < items.length ? { page, next: encodeToken(end, binding) } : { page };
    };
    switch (p.action) {
      case "ListAccounts": {
        const r = pageOf(sso.accounts, "sso/accounts");
        if ("status" in r) return r;
        return restOk(
          {
            accountList: r.page.map((id) => ({
              accountId: id,
              accountName: this.accounts.get(id)?.Name ?? id,
              emailAddress: this.accounts.get(id)?.Email ?? "",
            })),
            ...(r.next ? { nextToken: r.next } : {}),
          },
          requestId,
        );
      }
      case "ListAccountRoles": {
        const id = q.get("account_id");
        if (!id) return restError(400, "InvalidRequestException", "account_id is required", requestId);
        const r = pageOf(rolesOf(id), `sso/roles/${id}`);
        if ("status" in r) return r;
        return restOk(
          {
            roleList: r.page.map((roleName) => ({ roleName, accountId: id })),
            ...(r.next ? { nextToken: r.next } : {}),
          },
          requestId,
        );
      }
      case "GetRoleCredentials": {
        const id = q.get("account_id");
        const role = q.get("role_name");
        if (!id || !role) {
          return restError(
            400,
            "InvalidRequestException",
            "account_id and role_name are required",
            requestId,
          );
        }
        if (!rolesOf(id).includes(role) || !this.accountActive(id)) {
          return restError(403, "ForbiddenException", "No access", requestId);
        }
        const minted = this.mint(
          id,
          `arn:aws:sts::${id}:assumed-role/AWSReservedSSO_${role}_sim/cloudadmin-user`,
          `AROASSO${id.slice(-8)}:cloudadmin-user`,
          3600,
        );
        return restOk(
          {
            roleCredentials: {
              accessKeyId: minted.accessKeyId,
              secretAccessKey: minted.secret,
              sessionToken: minted.sessionToken,
              expiration: minted.expiresAt,
            },
          },
          requestId,
        );
      }
      case "Logout":
        return { status: 200, headers: { "x-amzn-requestid": requestId } };
      default:
        return restError(
          404,
          "ResourceNotFoundException",
          `No such operation ${req.url.pathname}`,
          requestId,
        );
    }
  }
}

/** `Name.1=a&Name.2=b` -> ["a", "b"] */
function listParam(params: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${name}.${i}`); i++) out.push(params.get(`${name}.${i}`) as string);
  return out;
}

const INSTANCE_FILTERS = new Set([
  "instance-state-name",
  "instance-state-code",
  "instance-id",
  "instance-type",
  "region-name",
  "opt-in-status",
]);

/** `Filter.N.Name` / `Filter.N.Value.M` -> name -> values. */
function parseFilters(params: URLSearchParams): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (let i = 1; params.has(`Filter.${i}.Name`); i++) {
    const name = params.get(`Filter.${i}.Name`) as string;
    if (!INSTANCE_FILTERS.has(name) && !name.startsWith("tag:"))
      throw new Error(`The filter '${name}' is invalid`);
    filters.set(name, [...(filters.get(name) ?? []), ...listParam(params, `Filter.${i}.Value`)]);
  }
  return filters;
}

function glob(pattern: string, value: string): boolean {
  if (!pattern.includes("*") && !pattern.includes("?")) return pattern === value;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(value);
}

function matches(i: AwsInstance, filters: Map<string, string[]>): boolean {
  for (const [name, values] of filters) {
    const any = (v: string | undefined) => v !== undefined && values.some((p) => glob(p, v));
    if (name === "instance-state-name" && !any(i.State.Name)) return false;
    if (name === "instance-state-code" && !any(String(i.State.Code))) return false;
    if (name === "instance-id" && !any(i.InstanceId)) return false;
    if (name === "instance-type" && !any(i.InstanceType)) return false;
    if (name.startsWith("tag:") && !any(i.Tags?.find((t) => t.Key === name.slice(4))?.Value)) return false;
  }
  return true;
}

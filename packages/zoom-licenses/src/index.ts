/**
 * `@cloudadmin/zoom-licenses`: finds Licensed Zoom users inactive for a period and turns them Basic,
 * with a plan (nothing changed), an apply step that journals every change before and after it and
 * resumes without changing a user twice, and a restore from the journal. Authenticates with
 * Server-to-Server OAuth and paces itself per Zoom rate-limit category.
 *
 * @example
 * ```ts
 * import { applyLicenseRecovery, createZoomClient, createZoomTokenProvider, planLicenseRecovery }
 *   from "@cloudadmin/zoom-licenses";
 * const tokenProvider = createZoomTokenProvider({ credentials: { accountId, clientId, clientSecret } });
 * const client = createZoomClient({ tokenProvider });
 * const period = { now: new Date(), months: 3 };
 * const plan = planLicenseRecovery(client.listUsers(), period);
 * for await (const r of applyLicenseRecovery(plan, { client, journal: "zoom-licenses.jsonl", period })) {
 *   console.log(r.email, r.action, r.result, r.reason);
 * }
 * ```
 */
export { planLicenseRecovery, inactivityCutoff } from "./plan.js";
export type { LicensePeriod, PlanLicenseRecoveryOptions } from "./plan.js";
export { applyLicenseRecovery, restoreLicenses } from "./apply.js";
export type { ApplyLicenseRecoveryOptions, LicenseChangeOptions, RestoreLicensesOptions } from "./apply.js";
export { createZoomClient, ZoomClient, ZOOM_PLAN_RATES, DEFAULT_API_URL } from "./client.js";
export { checkZoomAccess } from "./check.js";
export { probeZoomRateLimits } from "./probe.js";
export type { ProbeResult, ProbeZoomRateLimitsOptions } from "./probe.js";
export type {
  ZoomClientOptions,
  ZoomClientStats,
  ZoomPlan,
  ZoomRequestEvent,
  ListUsersOptions,
  RateLimitCategory,
} from "./client.js";
export { createZoomTokenProvider, DEFAULT_OAUTH_URL } from "./token-provider.js";
export type { ZoomOAuthOptions } from "./token-provider.js";
export { readJournal } from "./journal.js";
export type { JournalEntry, JournalUserState } from "./journal.js";
export { USER_TYPE } from "./types.js";
export type { LicenseRecord, ReasonCode, ZoomProgress, ZoomUser } from "./types.js";
export type { ZoomTokenProvider, ZoomClientCredentials } from "@cloudadmin/auth";

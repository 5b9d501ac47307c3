import { toCloudAdminError } from "@cloudadmin/errors";
import { type ZoomClient, ZOOM_PLAN_RATES, type ZoomPlan } from "./client.js";

/** One checked assumption, as `cloudadmin doctor --probe` lists them. */
export interface ProbeResult {
  provider: string;
  assumption: string;
  status: "holds" | "differs" | "unknown";
  /** What was seen; never a secret. */
  detail: string;
}

export interface ProbeZoomRateLimitsOptions {
  /** The client a run would use (its token provider, API URL and plan). */
  client: ZoomClient;
  /** The plan the run assumes (default `business`): its Medium limit is what a per-second header would hold. */
  plan?: ZoomPlan;
  signal?: AbortSignal;
}

const CATEGORY = "the rate-limit category is named in X-RateLimit-Category (Medium for List users)";
const LIMIT =
  "X-RateLimit-Limit is not the per-second rate (the job paces from 429s and the plan's documented limits)";
const TYPE = "X-RateLimit-Type, when sent, is QPS, Per-second-limit or Daily-limit";

/**
 * Reads the rate-limit headers of one harmless response (`GET /users?page_size=1`, one active
 * user) and reports each assumption the job's pacing makes about them: holds, differs (with what
 * was seen) or unknown (the request failed, or the header was not sent). Makes one request, or
 * two when the token has expired.
 *
 * @example
 * ```ts
 * for (const r of await probeZoomRateLimits({ client })) console.log(r.status, r.assumption, r.detail);
 * ```
 */
export async function probeZoomRateLimits(options: ProbeZoomRateLimitsOptions): Promise<ProbeResult[]> {
  const row = (assumption: string, status: ProbeResult["status"], detail: string): ProbeResult => ({
    provider: "zoom",
    assumption,
    status,
    detail,
  });
  let headers: Headers;
  try {
    const seen = await options.client.inspectListUsers(options.signal);
    if (seen.status < 200 || seen.status >= 300) {
      const detail = `GET /users answered ${seen.status}: no headers to check`;
      return [row(CATEGORY, "unknown", detail), row(LIMIT, "unknown", detail), row(TYPE, "unknown", detail)];
    }
    headers = seen.headers;
  } catch (error) {
    const detail = `GET /users failed: ${toCloudAdminError(error, "ERR_REMOTE").message}`;
    return [row(CATEGORY, "unknown", detail), row(LIMIT, "unknown", detail), row(TYPE, "unknown", detail)];
  }
  const category = headers.get("x-ratelimit-category");
  const limit = headers.get("x-ratelimit-limit");
  const remaining = headers.get("x-ratelimit-remaining");
  const type = headers.get("x-ratelimit-type");
  const perSecond = ZOOM_PLAN_RATES[options.plan ?? "business"].Medium;
  const results: ProbeResult[] = [];

  results.push(
    category === null
      ? row(CATEGORY, "differs", "no X-RateLimit-Category header: the job uses the documented labels")
      : category.toLowerCase() === "medium"
        ? row(CATEGORY, "holds", `X-RateLimit-Category: ${category}`)
        : row(CATEGORY, "differs", `X-RateLimit-Category: ${category.slice(0, 40)} (expected Medium)`),
  );

  const limitText = `X-RateLimit-Limit: ${limit}${remaining === null ? "" : `, X-RateLimit-Remaining: ${remaining}`}${type === null ? "" : `, X-RateLimit-Type: ${type}`}`;
  if (limit === null) {
    results.push(
      row(LIMIT, "holds", "no X-RateLimit-Limit header on this response: nothing to take for a rate"),
    );
  } else {
    const value = Number(limit);
    const perSecondType = type !== null && /qps|second/i.test(type);
    results.push(
      Number.isFinite(value) && (value > perSecond || /daily/i.test(type ?? ""))
        ? row(LIMIT, "holds", `${limitText}: a daily quota, not a per-second rate`)
        : perSecondType || (Number.isFinite(value) && value <= perSecond)
          ? row(
              LIMIT,
              "differs",
              `${limitText}: looks like a per-second limit (the job still paces from 429s)`,
            )
          : row(LIMIT, "unknown", limitText.slice(0, 120)),
    );
  }

  if (type === null) results.push(row(TYPE, "holds", "no X-RateLimit-Type header on this response"));
  else if (/^(qps|per-second-limit|daily-limit)$/i.test(type))
    results.push(row(TYPE, "holds", `X-RateLimit-Type: ${type}`));
  else results.push(row(TYPE, "differs", `X-RateLimit-Type: ${type.slice(0, 40)}`));
  return results;
}

import { AuthError, type CloudAdminError, isCloudAdminError, registerSecret } from "@cloudadmin/errors";
import type { Ec2IpsSsoOptions } from "./types.js";

/**
 * The IAM Identity Center token of a run. Each portal call asks the token source again (the SDK's
 * `fromSso` refreshes an `sso_session` token within 5 minutes of its expiry, so a long run keeps
 * working), and a token the portal has refused is not sent again: the calls after it fail at once
 * with the portal's answer, until the source gives a new token.
 */
export class SsoSession {
  readonly region: string;
  readonly roleName: string;
  /** What to do when the token is refused: `aws sso login` for this session. */
  readonly loginHint: string;
  private readonly source: Ec2IpsSsoOptions["accessToken"];
  private refused: { token: string; error: CloudAdminError } | undefined;

  constructor(options: Ec2IpsSsoOptions) {
    this.region = options.region;
    this.roleName = options.roleName;
    this.source = options.accessToken;
    this.loginHint = options.sessionName
      ? `run \`aws sso login --sso-session ${options.sessionName}\``
      : "run `aws sso login` and try again";
  }

  /** A token to send now; AuthError (`ERR_AUTH_EXPIRED`) when none can be had. */
  async token(): Promise<string> {
    let token: string;
    try {
      token = typeof this.source === "function" ? await this.source() : this.source;
    } catch (error) {
      if (isCloudAdminError(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new AuthError(
        `the IAM Identity Center token cannot be used or refreshed (${reason}); ${this.loginHint}`,
        {
          code: "ERR_AUTH_EXPIRED",
          cause: error,
          remoteCode: (error as { name?: string }).name ?? "TokenProviderError",
        },
      );
    }
    registerSecret(token);
    if (this.refused?.token === token) throw this.refused.error;
    return token;
  }

  /** Runs a portal call with the current token, remembering the token if the portal refuses it. */
  async use<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.token();
    try {
      return await call(token);
    } catch (error) {
      if (isCloudAdminError(error) && error.code === "ERR_AUTH_EXPIRED") this.refused ??= { token, error };
      throw error;
    }
  }
}

import type { SimRequest, SimResponse } from "../../types.js";
import { esc } from "./xml.js";

export const EC2_VERSION = "2016-11-15";
export const STS_VERSION = "2011-06-15";
export const EC2_NS = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;
export const STS_NS = `https://sts.amazonaws.com/doc/${STS_VERSION}/`;
export const ORGANIZATIONS_TARGET = "AWSOrganizationsV20161128.";

/** The parts of a SigV4 `Authorization` header the simulator routes on (the signature is not checked). */
export interface SigV4Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

const AUTH = /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request/;

export function parseSigV4(req: SimRequest): SigV4Scope | null {
  const header = req.headers.authorization;
  if (typeof header !== "string") return null;
  const m = AUTH.exec(header);
  if (!m) return null;
  return {
    accessKeyId: m[1] as string,
    date: m[2] as string,
    region: m[3] as string,
    service: m[4] as string,
  };
}

function header(req: SimRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function isForm(req: SimRequest): boolean {
  return (
    req.method === "POST" &&
    (header(req, "content-type") ?? "").startsWith("application/x-www-form-urlencoded")
  );
}

export function target(req: SimRequest): string | undefined {
  return header(req, "x-amz-target");
}

/** EC2 (ec2Query) error: `<Response><Errors><Error>` with `RequestID`. */
export function ec2Error(status: number, code: string, message: string, requestId: string): SimResponse {
  return {
    status,
    headers: { "content-type": "text/xml;charset=UTF-8" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  };
}

export function ec2Ok(action: string, inner: string, requestId: string): SimResponse {
  return {
    status: 200,
    headers: { "content-type": "text/xml;charset=UTF-8" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${requestId}</requestId>${inner}</${action}Response>`,
  };
}

/** STS (awsQuery) error: `<ErrorResponse><Error><Type>` with `RequestId`. */
export function stsError(
  status: number,
  code: string,
  message: string,
  requestId: string,
  type = "Sender",
): SimResponse {
  return {
    status,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body: `<ErrorResponse xmlns="${STS_NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${esc(code)}</Code>\n    <Message>${esc(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  };
}

export function stsOk(action: string, inner: string, requestId: string): SimResponse {
  return {
    status: 200,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body: `<${action}Response xmlns="${STS_NS}">\n  <${action}Result>${inner}</${action}Result>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  };
}

/** awsJson1_1 (Organizations): `__type` in the body and `x-amzn-ErrorType`. */
export function jsonError(status: number, code: string, message: string, requestId: string): SimResponse {
  return {
    status,
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": requestId,
      "x-amzn-errortype": `${code}:`,
    },
    body: JSON.stringify({ __type: code, Message: message }),
  };
}

export function jsonOk(body: unknown, requestId: string): SimResponse {
  return {
    status: 200,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId },
    body: JSON.stringify(body),
  };
}

/** restJson (SSO portal): lower-case `message` and `x-amzn-ErrorType`. */
export function restError(status: number, code: string, message: string, requestId: string): SimResponse {
  return {
    status,
    headers: {
      "content-type": "application/json",
      "x-amzn-requestid": requestId,
      "x-amzn-errortype": `${code}:http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/`,
    },
    body: JSON.stringify({ message }),
  };
}

export function restOk(body: unknown, requestId: string): SimResponse {
  return {
    status: 200,
    headers: { "content-type": "application/json", "x-amzn-requestid": requestId },
    body: JSON.stringify(body),
  };
}

/** An opaque continuation token that binds an offset to the request it continues. */
export function encodeToken(offset: number, binding: string): string {
  return Buffer.from(JSON.stringify({ o: offset, b: binding, v: 1 })).toString("base64url");
}

export function decodeToken(token: string, binding: string): number | null {
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { o?: unknown; b?: unknown };
    if (typeof v.o !== "number" || !Number.isInteger(v.o) || v.o < 0 || v.b !== binding) return null;
    return v.o;
  } catch {
    return null;
  }
}

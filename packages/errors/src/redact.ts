/**
 * Secret redaction. Two layers: values registered at run time (a client secret read from the
 * environment, a token just minted) are replaced wherever they appear, and well-known secret shapes
 * (bearer tokens, JWTs, SAS signatures, account keys, AWS secret keys and session tokens, OAuth form
 * fields) are replaced by pattern, so a secret nobody registered is still caught.
 */
const REDACTED = "***";
const registered = new Set<string>();

/** Registers a secret value so that it is replaced by `***` in every redacted string. */
export function registerSecret(value: string | undefined | null): void {
  // Very short values would redact ordinary words; real secrets are longer.
  if (typeof value === "string" && value.length >= 6) registered.add(value);
}

/** Forgets every registered secret (tests). */
export function clearRegisteredSecrets(): void {
  registered.clear();
}

const PATTERNS: Array<[RegExp, string]> = [
  // Authorization headers and "Bearer x" / "Basic x" anywhere.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${REDACTED}`],
  // JWTs (three base64url parts starting with a JSON header).
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // SAS signature and other signed-URL parameters.
  [
    /([?&](?:sig|signature|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|code|client_secret|access_token|refresh_token)=)[^&\s"'#]+/gi,
    `$1${REDACTED}`,
  ],
  // Connection strings and form/JSON fields that carry secrets.
  [/((?:AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd)=)[^;\s"']+/gi, `$1${REDACTED}`],
  [
    /("?(?:access_?token|accessToken|refresh_?token|client_?secret|clientSecret|secret_?access_?key|SecretAccessKey|session_?token|SessionToken|password|authorization)"?\s*[:=]\s*"?)([^"\s,&}]+)/gi,
    `$1${REDACTED}`,
  ],
  // AWS XML credential elements.
  [/(<(SecretAccessKey|SessionToken)>)[^<]*(<\/\2>)/g, `$1${REDACTED}$3`],
];

/** Replaces registered secrets and well-known secret shapes in a string. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

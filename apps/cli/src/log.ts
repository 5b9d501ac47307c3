import { redactSecrets } from "@cloudadmin/errors";
import type { OutStream } from "./io.js";

export type LogLevel = "error" | "warn" | "info" | "debug";

/** Lines for people on stderr. Redacted and stripped of control characters, whatever they hold. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** Removes terminal control sequences and other control characters from untrusted text. */
export function sanitizeForTerminal(text: string): string {
  return text
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}

export function createLogger(
  stream: OutStream,
  options: { verbosity: number; quiet: boolean; prefix: string },
): Logger {
  const write = (level: LogLevel, message: string) => {
    const text = sanitizeForTerminal(redactSecrets(message));
    const tag = level === "error" || level === "warn" ? `${level}: ` : "";
    stream.write(`${options.prefix}${tag}${text}\n`);
  };
  return {
    error: (m) => write("error", m),
    warn: (m) => {
      if (!options.quiet) write("warn", m);
    },
    info: (m) => {
      if (!options.quiet) write("info", m);
    },
    debug: (m) => {
      if (options.verbosity > 0 && !options.quiet) write("debug", m);
    },
  };
}

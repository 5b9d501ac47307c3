/** A user as Zoom's `GET /v2/users` returns it (only the fields this job reads). */
export interface ZoomUser {
  /** Absent for pending users. */
  id?: string;
  email: string;
  first_name?: string;
  last_name?: string;
  display_name?: string;
  /** 1 Basic, 2 Licensed, 4 Unassigned without Meetings Basic, 99 None. */
  type: number;
  status?: string;
  created_at?: string;
  user_created_at?: string;
  /** Absent for users who never signed in. */
  last_login_time?: string;
}

/** Zoom user types. */
export const USER_TYPE = { basic: 1, licensed: 2, unassigned: 4, none: 99 } as const;

/** One user's decision and, once applied, its outcome (SPEC section 4, zoom-licenses items). */
export interface LicenseRecord {
  userId: string;
  email: string;
  displayName: string;
  /** The user's type: as listed in a plan, the new type once a change is applied (1 Basic, 2 Licensed). */
  type: number;
  lastLoginTime: string | null;
  createdAt: string | null;
  /** Days since the last login (or since creation for users who never signed in). */
  inactiveDays: number | null;
  /** `restore` only in restore runs. */
  action: "downgrade" | "keep" | "restore";
  /** Why, for people (English; may change between versions). */
  reason: string;
  /** Why, for programs: the rule that decided (stable). */
  reasonCode: ReasonCode;
  result: "planned" | "applied" | "failed" | "skipped";
}

/**
 * The rule behind a decision: `inactive` and `never-logged-in` downgrade (or are kept as
 * `never-logged-in` without `includeNeverLoggedIn`, or `created-within-period`); the others keep.
 * `journal` marks restore records.
 */
export type ReasonCode =
  | "inactive"
  | "never-logged-in"
  | "created-within-period"
  | "creation-unknown"
  | "active-within-period"
  | "excluded"
  | "not-active"
  | "no-user-id"
  | "already-basic"
  | "not-licensed"
  | "journal";

/** Progress as data: the CLI draws it, tests count it. */
export interface ZoomProgress {
  phase: "list" | "apply" | "restore";
  listed: number;
  planned: number;
  applied: number;
  failed: number;
  skipped: number;
}

/** Dataset sizes: `small` for demos and tests, `large` for the benchmark scenarios (SPEC section 8). */
export type Scale = "small" | "large";
export const SCALES: readonly Scale[] = ["small", "large"];

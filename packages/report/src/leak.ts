import { type Item, asItem, num, text } from "./fields.js";

/**
 * leak-memory: allocated, touched, RSS and cgroup working set over time (MiB), against the cgroup
 * limit, with the moments the kernel acted: an OOM kill (`oom_kill` went up), the limit being hit
 * (`oom` went up, cgroup v2) or an allocation failing. A run whose samples stop while it was still
 * allocating, close to the limit, was most likely killed: it is marked as such.
 */
export interface LeakData {
  kind: "leak";
  /** ISO time of the first sample. */
  start: string;
  /** Seconds since the first sample. */
  t: number[];
  allocated: number[];
  touched: number[];
  rss: number[];
  workingSet: Array<number | null>;
  /** The cgroup limit in MiB (the largest seen; null = none). */
  limit: number | null;
  events: Array<{ t: number; label: string }>;
}

const MIB = 2 ** 20;
/** A run that stops allocating above this share of its limit, without releasing, was likely OOM-killed. */
const NEAR_LIMIT = 0.9;

export function leakCollector() {
  const samples: Item[] = [];
  return {
    add(item: Item): void {
      if (text(item, "t") !== "" && num(item, "allocatedBytes") !== null) samples.push(item);
    },
    finish(): LeakData {
      samples.sort((a, b) => Date.parse(text(a, "t")) - Date.parse(text(b, "t")));
      const t0 = samples.length > 0 ? Date.parse(text(samples[0] as Item, "t")) : 0;
      const data: LeakData = {
        kind: "leak",
        start: samples.length > 0 ? text(samples[0] as Item, "t") : "",
        t: [],
        allocated: [],
        touched: [],
        rss: [],
        workingSet: [],
        limit: null,
        events: [],
      };
      const mib = (bytes: number | null): number => Math.round(((bytes ?? 0) / MIB) * 100) / 100;
      let oom = -1;
      let kills = -1;
      for (const s of samples) {
        const cg = asItem(s.cgroup);
        const t = (Date.parse(text(s, "t")) - t0) / 1000;
        data.t.push(t);
        data.allocated.push(mib(num(s, "allocatedBytes")));
        data.touched.push(mib(num(s, "touchedBytes")));
        data.rss.push(mib(num(s, "rssBytes")));
        const ws = num(cg, "workingSetBytes");
        data.workingSet.push(ws === null ? null : mib(ws));
        const limit = num(cg, "limitBytes");
        if (limit !== null) data.limit = Math.max(data.limit ?? 0, mib(limit));
        const o = num(cg, "oomEvents");
        if (o !== null) {
          if (oom >= 0 && o > oom) data.events.push({ t, label: "cgroup limit hit (oom event)" });
          oom = o;
        }
        const k = num(cg, "oomKillEvents");
        if (k !== null) {
          if (kills >= 0 && k > kills) data.events.push({ t, label: "OOM kill in the cgroup" });
          kills = k;
        }
        if (text(s, "phase") === "allocation-failed") data.events.push({ t, label: "allocation failed" });
      }
      const last = samples.at(-1);
      // Still allocating when the samples stop (not holding, released or sampling a hold).
      if (last && data.limit !== null && ["start", "allocated", "touched"].includes(text(last, "phase"))) {
        const ws = data.workingSet.at(-1) ?? data.rss.at(-1) ?? 0;
        if (ws >= data.limit * NEAR_LIMIT)
          data.events.push({ t: data.t.at(-1) ?? 0, label: "samples end near the limit: OOM-killed" });
      }
      return data;
    },
  };
}

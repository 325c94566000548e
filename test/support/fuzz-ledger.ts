/**
 * The fuzz suite's accounting. Each record the pipeline received is found again, one by one, in
 * what really landed: its quarantine row (by ref) or its staged row (by position or key), or else
 * it must be a duplicate of something staged. Rows no record explains are violations too. Only
 * then are the load's own counts in etl.loads compared with what was found.
 */
import type { Expect } from './fuzz-core';

export interface ReceivedRecord {
  loadId: string;
  /** The load's quarantine ref for this record, normalised by the source (e.g. `page-3:17`). */
  qref: string;
  /** The identity of its staged row in this load (line, partition@offset or key); null: none can exist. */
  sref: string | null;
  /** Its key anywhere in staging, to tell a duplicate from a record that vanished. */
  key: string | null;
  role: 'bad' | 'valid' | 'duplicate';
  family: string;
  kind: string;
  expect: Expect;
  reason: RegExp;
  /** column -> YYYY-MM-DD a loaded copy must hold. */
  dates?: Record<string, string>;
  /** Where it was sent, for messages (default: qref). */
  at?: string;
}

export interface LoadFacts {
  staged: Array<{ sref: string; dates?: Record<string, string | null> }>;
  quarantined: Array<{ qref: string; reason: string }>;
  recorded: { status: string; received: number; loaded: number; quarantined: number; duplicates: number } | null;
}

export interface Tally { received: number; loaded: number; quarantined: number; duplicates: number }
export interface SourceReport {
  source: string;
  loads: number;
  failedLoads: number;
  totals: Tally;
  /** Bad records sent, and those of them in loads that succeeded (the rest are in failedLoads). */
  badSent: number;
  bad: number;
  valid: number;
  byFamily: Record<string, { bad: number; quarantined: number; loaded: number; duplicate: number }>;
  reasons: Record<string, number>;
  violations: string[];
  scenarios: Array<{ name: string; seconds: number; outcome: string; ok: boolean }>;
  seconds: number;
}

export const emptyReport = (source: string): SourceReport => ({ source, loads: 0, failedLoads: 0, badSent: 0, totals: { received: 0, loaded: 0, quarantined: 0, duplicates: 0 }, bad: 0, valid: 0, byFamily: {}, reasons: {}, violations: [], scenarios: [], seconds: 0 });

/** A reason with its values left out, so reasons group by kind: `Quantity "…" is not a positive integer`. */
export function reasonKind(reason: string): string {
  return reason.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, 'N').replace(/\s+/g, ' ').slice(0, 100);
}

const show = (r: ReceivedRecord) => `${r.kind} (${r.at ?? r.qref})`;

/** Adds the records of some loads to `report`, with a violation for everything that does not add up. */
export function reconcile(report: SourceReport, records: ReceivedRecord[], facts: Map<string, LoadFacts>, stagedKeys: Set<string>, maxViolations = 200): void {
  const v = (m: string) => { if (report.violations.length < maxViolations) report.violations.push(m); };
  const byLoad = new Map<string, ReceivedRecord[]>();
  for (const r of records) {
    byLoad.set(r.loadId, [...(byLoad.get(r.loadId) ?? []), r]);
    if (r.role === 'bad') report.badSent++;
  }
  for (const [loadId, recs] of byLoad) {
    const f = facts.get(loadId);
    if (!f) { v(`${loadId}: no facts (the load never ran)`); continue; }
    // A load that failed lands nothing: one finding, not one per record.
    if (f.recorded?.status !== 'succeeded') { v(`${loadId}: ${recs.length} records not landed: etl.loads says ${f.recorded?.status ?? 'nothing'}`); report.failedLoads++; continue; }
    report.loads++;
    const staged = new Map<string, Array<Record<string, string | null> | undefined>>();
    for (const s of f.staged) staged.set(s.sref, [...(staged.get(s.sref) ?? []), s.dates]);
    const quarantined = new Map<string, string[]>();
    for (const q of f.quarantined) quarantined.set(q.qref, [...(quarantined.get(q.qref) ?? []), q.reason]);
    const t: Tally = { received: recs.length, loaded: 0, quarantined: 0, duplicates: 0 };
    for (const r of recs) {
      const fam = (report.byFamily[r.family] ??= { bad: 0, quarantined: 0, loaded: 0, duplicate: 0 });
      if (r.role === 'bad') { fam.bad++; report.bad++; } else if (r.role === 'valid') report.valid++;
      const reason = quarantined.get(r.qref)?.shift();
      // null: not staged here; a record's staged row, when found, is taken so no other record claims it.
      let row: Record<string, string | null> | null = null;
      if (reason === undefined && r.sref !== null) {
        const list = staged.get(r.sref);
        if (list && list.length > 0) row = list.shift() ?? {};
      }
      if (reason !== undefined) {
        t.quarantined++; fam.quarantined++;
        report.reasons[reasonKind(reason)] = (report.reasons[reasonKind(reason)] ?? 0) + 1;
        if (r.expect === 'load' || r.role === 'duplicate') v(`${show(r)}: expected ${r.role === 'duplicate' ? 'a duplicate' : 'loaded'}, quarantined: ${reason.slice(0, 200)}`);
        else if (!r.reason.test(reason)) v(`${show(r)}: quarantined with a reason that names neither the field nor the structure: ${reason.slice(0, 200)}`);
      } else if (row !== null) {
        t.loaded++; fam.loaded++;
        if (r.expect === 'quarantine') v(`${show(r)}: expected quarantined, loaded`);
        if (r.role === 'duplicate') v(`${show(r)}: a duplicate was loaded again`);
        for (const [col, want] of Object.entries(r.dates ?? {})) if (row[col] !== want) v(`${show(r)}: ${col} stored as ${String(row[col])}, sent as ${want}`);
      } else {
        t.duplicates++; fam.duplicate++;
        if (r.role !== 'duplicate' && !(r.key !== null && stagedKeys.has(r.key))) v(`${show(r)}: neither loaded, quarantined nor a duplicate of a staged record (expected ${r.expect})`);
        else if (r.role !== 'duplicate' && r.expect !== 'either') v(`${show(r)}: expected ${r.expect}, counted as a duplicate`);
      }
    }
    const leftover = [...staged.values()].reduce((a, l) => a + l.length, 0) + [...quarantined.values()].reduce((a, l) => a + l.length, 0);
    if (leftover > 0) v(`${loadId}: ${leftover} staged or quarantine rows that no record sent explains`);
    const rec = f.recorded;
    if (rec.received !== t.received || rec.loaded !== t.loaded || rec.quarantined !== t.quarantined || rec.duplicates !== t.duplicates) {
      v(`${loadId}: etl.loads records ${JSON.stringify({ ...rec, status: undefined })}, counted ${JSON.stringify(t)}`);
    }
    for (const k of ['received', 'loaded', 'quarantined', 'duplicates'] as const) report.totals[k] += t[k];
  }
}

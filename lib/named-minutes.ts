/**
 * `name=minutes,name=minutes` settings (ETL_SLA_MINUTES, ETL_FRESHNESS_MINUTES): parsed against the
 * names allowed, throwing with the variable, the entry and the names, never a silent default.
 */
export function parseNamedMinutes<N extends string>(text: string | undefined, o: { variable: string; noun: string; names: readonly N[]; zero: string }): Partial<Record<N, number>> {
  const out: Partial<Record<N, number>> = {};
  for (const entry of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value] = entry.split('=').map((s) => s.trim());
    const minutes = Number(value);
    if (!name || !(o.names as readonly string[]).includes(name)) throw new Error(`${o.variable}: unknown ${o.noun} in "${entry}"; use ${o.names.join(', ')}`);
    if (value === undefined || value === '' || !Number.isFinite(minutes) || minutes < 0) throw new Error(`${o.variable}: "${entry}" needs a number of minutes >= 0 (0 ${o.zero})`);
    out[name as N] = minutes;
  }
  return out;
}

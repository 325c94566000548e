/**
 * `f` with its answers remembered, for a stream of arguments that repeat (an hour's events name
 * each user many times). The memory is bounded: at `limit` entries the map starts again empty.
 * f must give the same answer for the same argument.
 */
export function rememberAnswers<T>(f: (value: string) => T, limit: number): (value: string) => T {
  const known = new Map<string, T>();
  return (value) => {
    let out = known.get(value);
    if (out === undefined) {
      out = f(value);
      if (known.size >= limit) known.clear();
      known.set(value, out);
    }
    return out;
  };
}

/**
 * Nesting depth of a parsed JSON value, found without recursion. JSON.parse takes any depth, but
 * JSON.stringify, zod and our own reason messages recurse, and a 10,000-deep value overflows the
 * stack there: callers reject a value past their limit before anything else looks at it.
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: Array<{ v: object; d: number }> = [{ v: value, d: 1 }];
  while (stack.length) {
    const { v, d } = stack.pop() as { v: object; d: number };
    if (d > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push({ v: child, d: d + 1 });
    }
  }
  return false;
}

import { describe, expect, it } from 'vitest';
import { CHURN_PLAN_RETRY } from '../../workflows/churn';
import { CHECK_ACTIVITY_OPTIONS } from '../../workflows/helpers';
import { retrySpanMs } from '../support/retry-span';

/**
 * Runs that fail for good on a PostgreSQL restart of 20–30 s (crash recovery of a busy server, a
 * failover): the chaos tests hold PostgreSQL down 20 s (chaos.test.ts) and 30 s (docs/reliability.md).
 */
describe('retry budgets outlast a PostgreSQL restart', () => {
  it('the periodic checks (schedule monitor, freshness) retry for about a minute, within their 5-minute interval', () => {
    // 3 attempts, 2 s then 4 s: 6 s, so a 20 s restart failed the check's run.
    expect(retrySpanMs(CHECK_ACTIVITY_OPTIONS.retry)).toBeGreaterThanOrEqual(45_000);
    expect(retrySpanMs(CHECK_ACTIVITY_OPTIONS.retry)).toBeLessThan(5 * 60_000);
  });

  it('the weekly churn plan retries for about two minutes', () => {
    // 5 attempts from 1 s: 15 s.
    expect(retrySpanMs(CHURN_PLAN_RETRY)).toBeGreaterThanOrEqual(60_000);
  });
});

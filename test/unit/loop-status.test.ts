import { describe, expect, it } from 'vitest';
import { sessionProgress } from '../../cli/commands/events';

describe('etl events status: the running session', () => {
  it('reads the counts of the last heartbeat, and nothing when there is no session or no heartbeat yet', () => {
    const data = Buffer.from(JSON.stringify({ batches: 3, received: 120 }));
    expect(sessionProgress({ pendingActivities: [{ heartbeatDetails: { payloads: [{ data }] } }] })).toEqual({ batches: 3, received: 120 });
    expect(sessionProgress({ pendingActivities: [] })).toBeUndefined();
    expect(sessionProgress({ pendingActivities: [{ heartbeatDetails: null }] })).toBeUndefined();
    expect(sessionProgress({ pendingActivities: [{ heartbeatDetails: { payloads: [{ data: Buffer.from('not json') }] } }] })).toBeUndefined();
  });
});

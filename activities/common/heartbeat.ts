/** Heartbeats from code that also runs outside an activity (a benchmark, a script, a unit test). */
import { Context } from '@temporalio/activity';

/** Reports progress to Temporal when inside an activity; does nothing elsewhere. */
export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not in an activity: nobody to tell.
  }
}

/** `etl worker`: runs one worker until SIGINT/SIGTERM, then drains and exits. */
import { loadConfig } from '../config';
import { createWorker } from './worker';

export async function runWorker(opts: { taskQueue?: string } = {}): Promise<void> {
  const config = loadConfig();
  const started = await createWorker(config, opts.taskQueue ? { taskQueue: opts.taskQueue } : {});
  console.log(`worker polling task queue "${opts.taskQueue ?? config.TEMPORAL_TASK_QUEUE}" at ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`);
  try {
    await started.worker.run(); // The SDK shuts down on SIGINT/SIGTERM by itself.
  } finally {
    await started.close();
  }
}

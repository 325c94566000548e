/** Builds the activity dependencies from configuration. The one place clients are made for a worker. */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import type { ActivityDeps } from '../activities';
import { closeEventReaders } from '../activities/events/reader';
import { makeKafka, makePool, makeS3 } from '../lib/clients';
import { loadDataChecks } from '../lib/data-checks';
import { cancellablePool, cancellableS3 } from './cancellation';

/**
 * Pool sizes follow the worker's activity slots (workers/worker.ts ACTIVITY_SLOTS, 8 + 4 + 6): every
 * activity may hold a staging connection, plus two for failure records and the odd second query;
 * analytics serves the stream and heavy roles (a transform extract or date load holds one); the shop
 * database only the catalog's four sources of a partition or two.
 */
export function buildDeps(config: Config): ActivityDeps & { close(): Promise<void> } {
  // Inside an activity, a cancelled attempt cancels its statement in flight and aborts its S3 request (workers/cancellation.ts).
  const staging = cancellablePool(makePool(config, 'staging', 20));
  const analytics = cancellablePool(makePool(config, 'analytics', 12));
  const shop = cancellablePool(makePool(config, 'shop', 8));
  const s3 = cancellableS3(makeS3(config));
  // Connects on first use: only the monitor's activities read the server's state through it.
  const temporal = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
  return {
    staging,
    analytics,
    shop,
    s3,
    bucket: config.S3_BUCKET,
    kafka: makeKafka(config, 'shop-etl-worker'),
    ordersApi: { url: config.ORDERS_API_URL, token: config.ORDERS_API_TOKEN, timeoutMs: config.ORDERS_API_TIMEOUT_MS, pageSize: config.ORDERS_API_PAGE_SIZE },
    pseudonymKey: config.PSEUDONYM_KEY,
    eventsTopic: config.KAFKA_EVENTS_TOPIC,
    alertWebhookUrl: config.ALERT_WEBHOOK_URL,
    stuckAlertAfterMs: config.EVENTS_STUCK_ALERT_SECONDS * 1000,
    realtime: {
      windowMinutes: config.REALTIME_SPIKE_WINDOW_MINUTES, minHistory: config.REALTIME_SPIKE_MIN_HISTORY, z: config.REALTIME_SPIKE_Z,
      minRatio: config.REALTIME_SPIKE_MIN_RATIO, minExcess: config.REALTIME_SPIKE_MIN_EXCESS, latenessMinutes: config.REALTIME_LATENESS_MINUTES,
    },
    // Read at start: a bad ETL_DATA_CHECKS (unknown check or param) stops the worker with its name.
    dataChecks: loadDataChecks(config.ETL_DATA_CHECKS),
    temporal,
    async close() {
      await temporal.connection.close();
      await closeEventReaders(); // the events pipeline's long-lived Kafka consumers leave their groups first
      s3.destroy();
      await Promise.allSettled([staging.end(), analytics.end(), shop.end()]);
    },
  };
}

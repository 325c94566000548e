/**
 * Every activity the worker registers, built from injected clients. Workflows import the types
 * only (`import type`), never this module's values.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { DataCheck } from '../lib/data-checks';
import { createFilesActivities } from './files';
import { createEventsActivities } from './events';
import { createRealtimeActivities, markRealtimeMinutes, type RealtimeSettings } from './realtime';
import { createCatalogActivities } from './catalog';
import { createOrdersActivities } from './orders';
import { createAlertActivities } from './common/alerts';
import { createBackfillActivities } from './common/backfills';
import { createMonitorActivities } from './monitor';
import { createSmokeActivities } from './smoke';
import { createTransformActivities } from './transform';
import { createRebuildActivities } from './rebuild';
import { createChurnActivities } from './churn';

/** The clients and settings activities need; built by workers/, never by activities themselves. */
export interface ActivityDeps {
  staging: Pool;
  analytics: Pool;
  shop: Pool;
  s3: S3Client;
  bucket: string;
  kafka: Kafka;
  /** timeoutMs per request and pageSize (limit) default in activities/orders/client.ts and orders.ts. */
  ordersApi: { url: string; token: string; timeoutMs?: number; pageSize?: number };
  pseudonymKey: string;
  eventsTopic: string;
  alertWebhookUrl?: string;
  /** See EventsDeps.stuckAlertAfterMs. */
  stuckAlertAfterMs?: number;
  /** Spike thresholds and lateness of the realtime metrics; defaults in activities/realtime/index.ts. */
  realtime?: RealtimeSettings;
  /** The data checks run on every rebuilt analytics date (sql/checks with ETL_DATA_CHECKS applied; default: the files as they are). */
  dataChecks?: DataCheck[];
  /** The worker's Temporal client, for activities that read the server's own state (the schedule monitor). */
  temporal?: Client;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps),
    ...createFilesActivities(deps),
    ...createEventsActivities(deps, [markRealtimeMinutes]),
    ...createRealtimeActivities(deps),
    ...createTransformActivities(deps),
    ...createOrdersActivities(deps),
    ...createCatalogActivities(deps),
    ...createAlertActivities(deps),
    ...createBackfillActivities(deps),
    ...createMonitorActivities(deps),
    ...createRebuildActivities(deps),
    ...createChurnActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

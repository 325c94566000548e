/**
 * The dashboard as a running server: its read-only pools and the HTTP server, for `etl dashboard`,
 * the demo and the tests.
 */
import type { AddressInfo } from 'node:net';
import { types, type Pool } from 'pg';
import { makePool } from '../lib/clients';
import { makeTemporalClient } from '../lib/temporal';
import type { Config } from '../config';
import type { Client } from '@temporalio/client';
import { EtlPipeline } from '../workflows/search-attributes';
import { createDashboard, type ListRuns } from './server';

/** The continuous loops run for good: never "long-running" on the health page. */
const LOOPS = new Set(['eventsStreamWorkflow', 'realtimeMetricsWorkflow']);

/**
 * Lists runs from Temporal's visibility store, connecting on first use (and again after a failure),
 * so the dashboard starts and serves its other pages while Temporal is down.
 */
export function temporalRuns(config: Config): { listRuns: ListRuns; close: () => Promise<void> } {
  let client: Promise<Client> | undefined;
  const connect = () => (client ??= makeTemporalClient(config).catch((err: unknown) => { client = undefined; throw err; }));
  return {
    async listRuns(query) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`Temporal at ${config.TEMPORAL_ADDRESS} did not answer within 5 s`)), 5000); });
      try {
        return await Promise.race([list(query), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => { if (client) await (await client.catch(() => undefined))?.connection.close(); },
  };

  async function list(query: string): Promise<Array<Record<string, unknown>>> {
    const c = await connect();
    const rows: Array<Record<string, unknown>> = [];
    for await (const w of c.workflow.list({ query, pageSize: 100 })) {
      if (w.status.name === 'RUNNING' && LOOPS.has(w.type)) continue;
      rows.push({
        workflow_id: w.workflowId, run_id: w.runId, type: w.type, status: w.status.name.toLowerCase(),
        started: w.startTime.toISOString(), closed: w.closeTime?.toISOString() ?? null, pipeline: w.typedSearchAttributes.get(EtlPipeline) ?? null,
      });
      if (rows.length >= 50) break;
    }
    return rows;
  }
}

/** Dates and times as PostgreSQL's text: a date stays the day it is, whatever the server's time zone. */
const TEXT_TYPES = new Set([1082, 1114, 1184]);
const typeParsers = { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (TEXT_TYPES.has(oid) ? (v: string) => v : types.getTypeParser(oid, format))) as typeof types.getTypeParser };

/**
 * Read-only pools for the dashboard: analytics as etl_analyst (masked names; only the granted views
 * and tables), staging as its configured role for etl.loads and etl.alerts. Sessions are read-only,
 * in UTC, with a statement timeout, so a slow panel cannot hold the database.
 */
export function dashboardPools(config: Config): { analytics: Pool; staging: Pool } {
  const session = { options: '-c default_transaction_read_only=on -c statement_timeout=15000 -c timezone=UTC', types: typeParsers };
  return { analytics: makePool(config, 'analyst', 6, session), staging: makePool(config, 'staging', 6, session) };
}

/** The dashboard listening on host:port (0: any free port), with its pools; close() ends both. */
export async function startDashboard(config: Config, port: number, host = '127.0.0.1'): Promise<{ url: string; close: () => Promise<void> }> {
  const pools = dashboardPools(config);
  const temporal = temporalRuns(config);
  const server = createDashboard({ ...pools, listRuns: temporal.listRuns, temporalUi: config });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} is in use (another etl dashboard?): pass --port or set ETL_DASHBOARD_PORT`) : err));
      server.listen(port, host, resolve);
    });
  } catch (err) {
    await Promise.all([pools.analytics.end(), pools.staging.end(), temporal.close()]);
    throw err;
  }
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}/`,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      await Promise.all([pools.analytics.end(), pools.staging.end(), temporal.close()]);
    },
  };
}

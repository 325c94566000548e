/**
 * `etl demo`: the whole path on simulated shop data, in one process. It generates a dirty dataset,
 * serves it through the simulator (orders API, shop database, Kafka, file drops), runs a worker,
 * ingests every source through the real workflows (the orders and transform partitions through a
 * backfill, as an operator would), trains the churn models once (churnWorkflow, with the Python ML
 * worker), and prints the headline metrics and the Temporal UI links.
 */
import { join, resolve } from 'node:path';
import type { Config } from '../../config';
import { DEFAULT_EVENTS_GROUP } from '../../activities/events';
import { makeKafka, makePool } from '../../lib/clients';
import { makeTemporalClient } from '../../lib/temporal';
import { generateDataset } from '../../shop/generator';
import { startShop } from '../../shop/simulator/start-shop';
import { installConciseLogging } from '../../workers/logging';
import { createWorker } from '../../workers/worker';
import { backfillWorkflow } from '../../workflows';
import { DEFAULT_RUN_SIZES } from '../../workflows/backfill-plan';
import { startDashboard } from '../../dashboard/start';
import { backfillId } from '../commands/backfill';
import { watchBackfill } from '../backfill-watch';
import { REALTIME_WORKFLOW_ID } from '../commands/live';
import { produceDemoSpike, showSpike } from './spike';
import { describeRun, metricsTable, trainChurn } from '../churn';
import { printTable } from '../output';
import { causeMessage } from '../../workflows/helpers';
import { ensureRunning, printHeadlines, printLinks, runPartition, summariseLoads, waitEventsCaughtUp } from './steps';

const EVENTS_STREAM_ID = 'events/stream';

export interface DemoOptions { seed: number; start: string; days: number; scale: number; out?: string; concurrency: number; keep: boolean }

export async function runDemo(config: Config, o: DemoOptions): Promise<number> {
  installConciseLogging('WARN');
  const t0 = Date.now();
  const step = (name: string) => console.log(`\n==> ${name} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const out = resolve(o.out ?? join(config.ETL_HOME, 'demo', 'dataset'));

  step(`generate: seed ${o.seed}, ${o.days} days from ${o.start}, scale ${o.scale}, default dirt → ${out}`);
  const { manifest } = await generateDataset({ seed: o.seed, start: o.start, days: o.days, scale: o.scale, dirt: 'default', out });
  console.log(`${manifest.totals.rows} rows, ${manifest.totals.invalid} invalid and ${manifest.totals.duplicates} duplicate records planted`);

  step('shop: loading the shop database, serving the orders API, producing events to Kafka, dropping purchase files');
  const shop = await startShop({ config, dataDir: out, database: { reset: true }, drops: { allNow: true }, log: () => undefined });
  const started = await createWorker(config);
  const workerRun = started.run();
  const client = await makeTemporalClient(config);
  const staging = makePool(config, 'staging', 2);
  const analytics = makePool(config, 'analytics', 2);
  const kafka = makeKafka(config, 'shop-etl-demo');
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  try {
    await shop.replayed;
    console.log(`orders API at ${shop.apiUrl}; worker polling "${config.TEMPORAL_TASK_QUEUE}"`);

    step('ingest: events stream (continuous), catalog and file drops');
    console.log(`events stream ${EVENTS_STREAM_ID}: ${await ensureRunning(client, config, 'eventsStreamWorkflow', EVENTS_STREAM_ID, 'events')}`);
    console.log(`realtime loop ${REALTIME_WORKFLOW_ID}: ${await ensureRunning(client, config, 'realtimeMetricsWorkflow', REALTIME_WORKFLOW_ID, 'realtime')}`);
    const end = manifest.range.end;
    // The initial catalog load, as `etl backfill catalog --from 2000-01-01 --to <end> --initial`
    // runs it: the shop's whole history as one run; schedules then go 30 minutes at a time.
    const catalogFrom = '2000-01-01T00:00:00.000Z';
    const catalog = await client.workflow.start(backfillWorkflow, {
      taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: backfillId(['catalog'], catalogFrom, end),
      args: [{ pipelines: ['catalog'], from: catalogFrom, to: end, concurrency: 1, runSizes: { catalog: 0 } }],
    });
    const files = await runPartition(client, config, 'files', { partitionStart: new Date(Math.floor(Date.now() / 300_000) * 300_000).toISOString(), partitionEnd: new Date(Math.floor(Date.now() / 300_000) * 300_000 + 300_000).toISOString(), backfill: true });
    if ((await watchBackfill(catalog, {})) !== 0) return 1;
    console.log(summariseLoads(files));

    step(`ingest: backfill of the orders API, ${manifest.range.start} .. ${end} (a day per run, as etl backfill coalesces)`);
    const ordersId = backfillId(['orders'], manifest.range.start, end);
    const orders = await client.workflow.start(backfillWorkflow, { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: ordersId, args: [{ pipelines: ['orders'], from: manifest.range.start, to: end, concurrency: o.concurrency, runSizes: { orders: DEFAULT_RUN_SIZES.orders } }] });
    if ((await watchBackfill(orders, {})) !== 0) return 1;

    const events = await waitEventsCaughtUp(kafka, staging, config.KAFKA_EVENTS_TOPIC, DEFAULT_EVENTS_GROUP, 300_000);
    console.log(`events stream caught up: ${events} messages on ${config.KAFKA_EVENTS_TOPIC} consumed`);

    step(`transform: backfill over ${manifest.range.purchasesStart} .. ${end}, one run after the ingestion`);
    const transformId = backfillId(['transform'], manifest.range.purchasesStart, end);
    // One run over the range, each date rebuilt once (etl backfill's default for the transform).
    const transform = await client.workflow.start(backfillWorkflow, { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: transformId, args: [{ pipelines: ['transform'], from: manifest.range.purchasesStart, to: end, concurrency: o.concurrency, runSizes: { transform: DEFAULT_RUN_SIZES.transform } }] });
    if ((await watchBackfill(transform, {})) !== 0) return 1;

    step('churn: churnWorkflow plans in TypeScript, trains and evaluates in the Python ML worker (scikit-learn), scores every customer');
    try {
      const churn = await trainChurn(config, client, {}, (line) => console.log(line));
      for (const line of describeRun(churn.result)) console.log(line);
      printTable(metricsTable(churn.result.models));
      console.log(`a ${o.days * 2}-day shop gives the models little to learn from; docs/churn.md has them on 56 days (npx tsx bench/churn.ts). Later: npx etl churn report`);
    } catch (err) {
      console.error(`churn training failed: ${causeMessage(err)}`);
      return 1;
    }

    step('realtime: a burst of add_to_cart (x8 for 3 minutes) in a compressed stream, judged by the spike detector');
    const spike = await produceDemoSpike(kafka, config.KAFKA_EVENTS_TOPIC, config.KAFKA_EVENTS_PARTITIONS);
    console.log(`${spike.sent} events for ${spike.era.toISOString()} + ${spike.minutes} min produced to ${config.KAFKA_EVENTS_TOPIC}`);
    if (!(await showSpike(analytics, spike))) console.error('no alert within 3 minutes: check `npx etl runs` and the realtime/metrics workflow in the UI');

    step('results');
    await printHeadlines(analytics, manifest.range.purchasesStart, end);
    printLinks(config, [ordersId, transformId, EVENTS_STREAM_ID, REALTIME_WORKFLOW_ID]);
    // The analysts' dashboard over what the demo loaded: checked to serve its overview, and kept up with --keep.
    try {
      dashboard = await startDashboard(config, o.keep ? config.ETL_DASHBOARD_PORT : 0);
      const overview = await fetch(`${dashboard.url}overview`);
      if (!overview.ok) throw new Error(`its overview answered ${overview.status}: ${(await overview.text()).slice(0, 300)}`);
      console.log(o.keep ? `dashboard: ${dashboard.url}` : `dashboard: served its overview; run npx etl dashboard for http://127.0.0.1:${config.ETL_DASHBOARD_PORT}/, or the demo with --keep`);
    } catch (err) {
      console.error(`WARN the dashboard could not be checked: ${err instanceof Error ? err.message : String(err)} (npx etl dashboard --port <n> serves it)`);
    }
    console.log(`\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(0)} s. Next: npx etl live (live view), npx etl lake query "select * from user_behavior limit 5", npx etl schedules apply`);
    if (o.keep) {
      console.log('--keep: worker, simulator and dashboard keep running; Ctrl-C to stop. Apply the schedules with: npx etl schedules apply');
      await workerRun;
    }
    return 0;
  } finally {
    await dashboard?.close();
    started.shutdown();
    await workerRun.catch(() => undefined);
    await Promise.allSettled([shop.stop(), started.close(), client.connection.close(), staging.end(), analytics.end()]);
  }
}

// The TypeScript reference (npm @hotmeshio/hotmesh) on the seed workflow, for
// `python -m benchmarks.peers`. Written against the reference's documented public API
// (HotMesh.init / deploy / activate / pubsub / stop); no code from its repository.
//
// benchmarks/peers.py installs @hotmeshio/hotmesh and pg into a temporary folder, copies
// this file there and runs:
//
//   node peer_hotmesh_ts.mjs '<json config>'
//
// config: {host, database, user, password, appId, yaml, jobs, levels, warmup}
// stdout: one JSON line {"version": ..., "results": [{concurrency, jobs, jobs_per_s,
// p50_ms, p95_ms, p99_ms, commits_per_job}, ...]}. Nothing is asserted.

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { HotMesh } from '@hotmeshio/hotmesh';
import pg from 'pg';

const config = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const version = require('@hotmeshio/hotmesh/package.json').version;

const pgOptions = {
  host: config.host,
  database: config.database,
  user: config.user,
  password: config.password,
};
const connection = { class: pg.Client, options: pgOptions };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The seed's worker: fulfil the order.
const processOrder = async (message) => ({
  metadata: { ...message.metadata },
  data: { orderId: message.data.id, status: 'fulfilled' },
});

// Percentile with the same "exclusive" method as Python's statistics.quantiles(n=100).
function percentile(sorted, p) {
  const n = sorted.length;
  if (n === 1) return sorted[0];
  const m = n + 1;
  const j = Math.floor((p * m) / 100);
  const delta = (p * m) / 100 - j;
  if (j < 1) return sorted[0];
  if (j >= n) return sorted[n - 1];
  return sorted[j - 1] + (sorted[j] - sorted[j - 1]) * delta;
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

// Writing transactions so far (the advance of the next transaction id), as the Python
// side counts them; pg_stat_database.xact_commit lags and counts read-only ones too.
async function commits(client) {
  const result = await client.query(
    'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax',
  );
  return Number(result.rows[0].xmax);
}

async function runLevel(hotMesh, stats, jobs, concurrency) {
  const latencies = [];
  let next = 0;
  const lane = async () => {
    while (next < jobs) {
      const i = next++;
      const started = performance.now();
      await hotMesh.pubsub('order.placed', { id: `${HotMesh.guid().slice(0, 8)}-${i}` }, undefined, 60000);
      latencies.push(performance.now() - started);
    }
  };
  await sleep(200);
  const before = await commits(stats);
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;
  await sleep(600); // statistics are reported by backends lazily
  const after = await commits(stats);
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    jobs,
    jobs_per_s: round(jobs / elapsed, 1),
    p50_ms: round(percentile(latencies, 50), 2),
    p95_ms: round(percentile(latencies, 95), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    commits_per_job: round((after - before) / jobs, 2),
  };
}

async function main() {
  const stats = new pg.Client(pgOptions);
  await stats.connect();
  const hotMesh = await HotMesh.init({
    appId: config.appId,
    logLevel: 'error',
    engine: { connection },
    workers: [{ topic: 'order.process', connection, callback: processOrder }],
  });
  await hotMesh.deploy(config.yaml);
  await hotMesh.activate('1');
  if (config.warmup > 0) {
    await runLevel(hotMesh, stats, Math.min(config.warmup, config.jobs), 20);
  }
  const results = [];
  for (const level of config.levels) {
    const count = level > 1 ? config.jobs : Math.max(Math.floor(config.jobs / 5), Math.min(config.jobs, 100));
    const figures = await runLevel(hotMesh, stats, count, level);
    process.stderr.write(`typescript c=${level} ${JSON.stringify(figures)}\n`);
    results.push(figures);
  }
  await stats.end();
  process.stdout.write(`${JSON.stringify({ version, results })}\n`);
  await HotMesh.stop();
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : JSON.stringify(error)}\n`);
    process.exit(1);
  },
);

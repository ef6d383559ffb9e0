/**
 * The startup banner of the Express and Koa examples: where the app listens, and a command that
 * shows each feature at work (cache, login limit, SLO breach, metrics, dashboard).
 */
export function printBanner(framework: string, port: number, defaultLimit: boolean): void {
  const base = `http://localhost:${port}`;
  console.log(`autom8 ${framework} example on ${base}${defaultLimit ? '' : ' (DEFAULT_LIMIT=off: no per-client default limit)'}`);
  console.log(`  try: curl -si ${base}/users | grep -i x-cache         # twice: MISS, then HIT (cached 30 s)`);
  console.log(`       for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' -X POST ${base}/login; done   # login limit 5/min: the 6th is 429`);
  console.log(`       for i in $(seq 10); do curl -s -o /dev/null ${base}/slow; done   # 100-300 ms each: breaches the slow-route-latency SLO`);
  console.log(`       curl ${base}/api/v1/metrics                      # per route: rate, errors, p50/p95/p99`);
  console.log(`       curl ${base}/api/v1/metrics/system`);
  console.log(`       open ${base}/api/v1/metrics/dashboard`);
}

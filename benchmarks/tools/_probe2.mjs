import { startServer, measure, fmt } from '../lib/http-bench.mjs';
const variants = process.argv.slice(2); // each "FW:F"
const rounds = Number(process.env.R ?? 2);
const res = {};
for (let r = 0; r < rounds; r++) for (const v of variants) {
  const [FW, F = ''] = v.split(':');
  const srv = await startServer(new URL('./_abl.mjs', import.meta.url), [], { FW, F });
  const m = await measure(srv, { path: '/users/7', connections: 16, duration: 4, warmup: 2 });
  await srv.stop();
  (res[v] ??= []).push(m.cpuUsPerReq);
}
for (const v of variants) { const a = res[v].sort((x,y)=>x-y); console.log('MEDIAN', v.padEnd(30), fmt(a[Math.floor(a.length/2)]), ' all', a.map(x=>fmt(x)).join(' ')); }

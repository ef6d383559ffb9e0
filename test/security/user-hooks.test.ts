// A user hook that throws must neither fail the request nor earn it a pass (issue #19: "runtime
// errors inside autom8 never take down a request listener"). An attacker who can make a key function
// throw (by leaving out the header it expects) is counted by address, and a `skip` hook that throws
// does not skip. On every adapter.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Autom8Options } from '@autom8/core';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

for (const adapter of ADAPTERS) {
  describe(`throwing user hooks on ${adapter}`, () => {
    const apps: TestApp[] = [];
    const warnings: string[] = [];
    const logger = { info() {}, warn: (_o: unknown, msg: string) => void warnings.push(msg), error() {} };
    const start = async (options: Autom8Options) => {
      const app = buildApp(adapter, { logger, ...options });
      apps.push(app);
      return listen(app.server);
    };
    after(async () => {
      for (const a of apps) {
        await close(a.server);
        await a.engine.close();
      }
    });

    test('rateLimit.key that throws: the client is counted by address, the request is not a 500', async () => {
      warnings.length = 0;
      const base = await start({
        rateLimit: { rate: 2, per: 'minute', key: (ex) => (ex.header('x-api-key') as string).slice(0, 8) },
      });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${base}/users/1`);
        await r.text();
        statuses.push(r.status);
      }
      assert.deepEqual(statuses, [200, 200, 429, 429]);
      assert.equal(warnings.filter((w) => /rateLimit.key threw/.test(w)).length, 1, `warnings: ${warnings.join(' | ')}`);
    });

    test('rateLimit.skip that throws does not skip: the request is counted', async () => {
      warnings.length = 0;
      const base = await start({
        rateLimit: { rate: 1, per: 'minute', skip: (ex) => (ex.header('x-internal') as string).length > 0 },
      });
      const first = await fetch(`${base}/users/1`);
      await first.text();
      const second = await fetch(`${base}/users/1`);
      await second.text();
      assert.deepEqual([first.status, second.status], [200, 429]);
      assert.equal(warnings.filter((w) => /rateLimit.skip threw/.test(w)).length, 1);
    });
  });
}

// Issue #21: in a fleet, a cache hit served by an instance whose router has not handled that route
// yet is counted under the route template the entry was filled for, not `GET unmatched`. Two
// engines share one cache tier (a Map behind the CacheStore contract, as Redis would be): the first
// fills it, the second serves hits from it without its router ever running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CacheRecord, CacheStore } from '@autom8/core';
import { ADAPTERS, buildApp } from '../support/apps';
import { close, listen } from '../support/http';

/** The shared tier: the contract's operations over one Map. */
function sharedStore(): CacheStore {
  const m = new Map<string, CacheRecord>();
  return {
    kind: 'shared-map',
    get: (k) => m.get(k),
    set: (k, r) => void m.set(k, r),
    delete: (k) => void m.delete(k),
    deleteByTag: (tag) => {
      let n = 0;
      for (const [k, r] of m) if (r.tags.includes(tag) && m.delete(k)) n++;
      return n;
    },
  };
}

for (const adapter of ADAPTERS) {
  test(`${adapter}: a shared-tier hit counts under the template the entry was filled for`, async () => {
    const store = sharedStore();
    const cache = { routes: { 'GET /users/:id': { ttl: 60_000 } }, store };
    const filler = buildApp(adapter, { cache });
    const server = buildApp(adapter, { cache });
    const [a, b] = [await listen(filler.server), await listen(server.server)];
    try {
      const miss = await fetch(`${a}/users/7`);
      assert.equal(miss.headers.get('x-cache'), 'MISS');
      await miss.text();
      for (let i = 0; i < 3; i++) {
        const hit = await fetch(`${b}/users/7`);
        assert.equal(hit.headers.get('x-cache'), 'HIT');
        await hit.text();
      }
      const m: any = await (await fetch(`${b}/api/v1/metrics`)).json();
      assert.equal(m.routes['GET unmatched'], undefined, JSON.stringify(Object.keys(m.routes)));
      assert.equal(m.routes['GET /users/:id']?.total.count, 3, JSON.stringify(Object.keys(m.routes)));
    } finally {
      await close(filler.server);
      await close(server.server);
      await filler.engine.close();
      await server.engine.close();
    }
  });
}

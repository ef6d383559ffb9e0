import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';

describe('adapters reject invalid options at construction with the same error', () => {
  for (const [name, factory] of [
    ['autom8Express', autom8Express],
    ['autom8Koa', autom8Koa],
  ] as const) {
    test(name, () => {
      assert.throws(() => factory({ metrics: { maxSeries: 0 } }), { name: 'InvalidOptionError', message: /metrics\.maxSeries/ });
      assert.throws(() => factory({ bogus: true } as never), /unknown option bogus/);
    });
  }
});

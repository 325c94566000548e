/**
 * The dimension upsert (activities/transform/dimensions.ts) writes a customer's or a product's row
 * only when it changes: a newer version, or a version as new as the stored one that changes a
 * column (a late older version filling a carried country or category). Re-running it over the same
 * versions rewrites nothing.
 * Real PostgreSQL, in a transaction rolled back at the end.
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertDimensions } from '../../activities/transform/dimensions';
import { testEnv, type TestEnv } from '../support/env';

describe('dimension upserts rewrite only what changed (real PostgreSQL)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv('dimensions-upsert');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('leaves rows alone on a re-run, and takes a same-time version that fills a column or a newer one', async () => {
    const id = `dim-${randomUUID().slice(0, 8)}`;
    const client: PoolClient = await env.deps.analytics.connect();
    const row = async () => (await client.query<{ ctid: string; country: string; user_name: string | null; updated_at: Date; inferred: boolean }>(
      'select ctid::text, country, user_name, updated_at, inferred from dim_customer where customer_id = $1', [id])).rows[0];
    const version = (updatedAt: string, name: string | null, country: string | null) => client.query(
      'insert into work.users (customer_id, updated_at, user_name, country, signup_date) values ($1, $2, $3, $4, null)', [id, updatedAt, name, country]);
    try {
      await client.query('begin');
      await client.query('create temp table _in on commit drop as select $1::text as customer_id', [id]);
      // An inferred row (a fact arrived before the user) is replaced by the first version.
      await client.query(`insert into dim_customer (customer_id, country, inferred) values ($1, 'unknown', true)`, [id]);
      await version('2030-01-02T00:00:00Z', 'Ann', null);
      await upsertDimensions(client, 'users');
      const first = await row();
      expect(first).toMatchObject({ country: 'unknown', user_name: 'Ann', inferred: false });

      // The same versions again: no new tuple (an update, even a HOT one, moves the ctid).
      await upsertDimensions(client, 'users');
      await upsertDimensions(client, 'users');
      expect((await row())?.ctid).toBe(first?.ctid);

      // A late, older version carrying a country: the latest updated_at is unchanged, the country fills in.
      await version('2030-01-01T00:00:00Z', 'Ann', 'FR');
      expect(await upsertDimensions(client, 'users')).toEqual([]); // no facts of this customer to relabel
      const filled = await row();
      expect(filled).toMatchObject({ country: 'FR', user_name: 'Ann' });
      expect(filled?.updated_at.toISOString()).toBe('2030-01-02T00:00:00.000Z');
      expect(filled?.ctid).not.toBe(first?.ctid);
      await upsertDimensions(client, 'users');
      expect((await row())?.ctid).toBe(filled?.ctid);

      // A newer version is written even with the same content.
      await version('2030-01-03T00:00:00Z', 'Ann', 'FR');
      await upsertDimensions(client, 'users');
      const newer = await row();
      expect(newer?.updated_at.toISOString()).toBe('2030-01-03T00:00:00.000Z');
      expect(newer?.ctid).not.toBe(filled?.ctid);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('does the same for products: a re-run moves no row, a late version carrying the category fills it and its key', async () => {
    const id = `dim-${randomUUID().slice(0, 8)}`;
    const client: PoolClient = await env.deps.analytics.connect();
    const row = async () => (await client.query<{ ctid: string; category: string; category_key: string; price: string | null }>(
      'select ctid::text, category, category_key, price::text from dim_product where product_id = $1', [id])).rows[0];
    const version = (updatedAt: string, category: string | null, price: string | null) => client.query(
      `insert into work.products (product_id, updated_at, product_name, category, price) values ($1, $2, 'Lamp', $3, $4)`, [id, updatedAt, category, price]);
    try {
      await client.query('begin');
      await client.query('create temp table _in on commit drop as select $1::text as product_id', [id]);
      await version('2030-01-02T00:00:00Z', null, '9.50');
      await upsertDimensions(client, 'products');
      const first = await row();
      expect(first).toMatchObject({ category: 'Uncategorised', category_key: 'uncategorised', price: '9.50' });
      await upsertDimensions(client, 'products');
      expect((await row())?.ctid).toBe(first?.ctid);

      await version('2030-01-01T00:00:00Z', 'Garden', '8.00');
      await upsertDimensions(client, 'products');
      const filled = await row();
      // The newest version's price, the newest known category.
      expect(filled).toMatchObject({ category: 'Garden', category_key: 'garden', price: '9.50' });
      expect(filled?.ctid).not.toBe(first?.ctid);
      await upsertDimensions(client, 'products');
      expect((await row())?.ctid).toBe(filled?.ctid);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

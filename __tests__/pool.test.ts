import { describe, expect, test } from '@jest/globals';
import { ConnectionPool, type Slot } from '../src/schedule/pool.js';

/** A promise and its resolver: stands for "the server closed this session". */
function closer(): { gone: Promise<void>; close: () => void } {
  let close = (): void => undefined;
  const gone = new Promise<void>((resolve) => (close = resolve));
  return { gone, close };
}

const later = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ConnectionPool', () => {
  test('never more active sessions than its active limit, nor more in all than its limit', async () => {
    const pool = new ConnectionPool(5, 3);
    const far = Date.now() + 10_000;
    const slots = await Promise.all([pool.acquire(far), pool.acquire(far), pool.acquire(far)]);
    let fourth: Slot | undefined;
    void pool.acquire(far).then((s) => (fourth = s));
    await later();
    expect(fourth).toBeUndefined();
    // Retiring one frees an active place while the server still holds the session.
    const c = closer();
    slots[0]?.retire(c.gone);
    await later();
    expect(fourth).toBeDefined();
    expect(pool.occupied).toBe(4);
    // Two retired sessions the server still holds: the total limit (5) now binds.
    const d = closer();
    slots[1]?.retire(d.gone);
    let fifth: Slot | undefined;
    let sixth: Slot | undefined;
    void pool.acquire(far).then((s) => (fifth = s));
    void pool.acquire(far).then((s) => (sixth = s));
    await later();
    expect(fifth).toBeDefined();
    expect(sixth).toBeUndefined();
    expect(pool.occupied).toBe(5);
    // The server closes a retired session: its slot comes back.
    c.close();
    await later();
    expect(sixth).toBeUndefined(); // still three active (the limit of 3)
    slots[2]?.release();
    await later();
    expect(sixth).toBeDefined();
    expect(pool.peak).toBeLessThanOrEqual(5);
  });

  test('a retired session the server never closes frees its slot after the lifetime', async () => {
    const pool = new ConnectionPool(1, 1);
    const s = await pool.acquire(Date.now() + 1000);
    s?.retire(new Promise(() => undefined), 30);
    expect(pool.occupied).toBe(1);
    const next = await pool.acquire(Date.now() + 1000);
    expect(next).toBeDefined();
    expect(pool.occupied).toBe(1);
  });

  test('acquire gives up at the deadline', async () => {
    const pool = new ConnectionPool(1, 1);
    await pool.acquire(Date.now() + 1000);
    expect(await pool.acquire(Date.now() + 20)).toBeUndefined();
  });

  test('"421 too many connections" while holding others lowers the limit to what we held; with none of ours, it says to wait', async () => {
    const pool = new ConnectionPool(10, 4);
    const far = Date.now() + 1000;
    const held = await Promise.all([pool.acquire(far), pool.acquire(far), pool.acquire(far)]);
    const refused = await pool.acquire(far);
    expect(pool.tooMany(1)).toBeUndefined();
    refused?.release();
    expect(pool.limit).toBe(3);
    let waiting: Slot | undefined;
    void pool.acquire(far).then((s) => (waiting = s));
    await later();
    expect(waiting).toBeUndefined();
    held[0]?.release();
    await later();
    expect(waiting).toBeDefined();
    for (const h of held) h?.release();

    const alone = new ConnectionPool(10, 4);
    const only = await alone.acquire(far);
    expect(alone.tooMany(1)).toBeGreaterThan(0);
    expect(alone.tooMany(100)).toBeLessThanOrEqual(5_000);
    only?.release();
    expect(alone.limit).toBe(10);
  });

  test('a slot released twice, or retired after release, is counted once', async () => {
    const pool = new ConnectionPool(2, 2);
    const s = await pool.acquire(Date.now() + 1000);
    s?.release();
    s?.release();
    s?.retire(Promise.resolve());
    expect(pool.occupied).toBe(0);
  });
});

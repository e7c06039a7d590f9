import { describe, expect, test } from '@jest/globals';
import { BudgetLearner } from '../src/schedule/budget.js';
import { DEFAULT_ERROR_BUDGET } from '../src/smtp/limits.js';

/**
 * The budget learner driven with scripted reply timings, as Postfix produces
 * them (measured, Postfix 3.7): with smtpd_soft_error_limit k the reply after
 * each of the first k refusals is fast, every reply after that sleeps.
 */

/** Plays one connection against a server with soft limit k: `refusals` refusals, each followed by one more reply. */
function playConnection(l: BudgetLearner, k: number, refusals: number): 'fast' | 'slept' {
  for (let e = 0; e <= refusals; e++) {
    if (e < k) {
      l.fast(e);
      continue;
    }
    const id = l.suspect(e);
    l.settle(id, { code: 454, command: 'RCPT' });
    return 'slept';
  }
  return 'fast';
}

describe('BudgetLearner', () => {
  test('starts at the default budget, with only the first reply of a connection known not to sleep', () => {
    const l = new BudgetLearner();
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
    expect(l.floor).toBe(1);
    expect(l.maySleep(0)).toBe(false);
    expect(l.maySleep(1)).toBe(true);
  });

  test.each([1, 2, 3, 5])('soft limit %i: the first overdue reply after k fast refusals sets the budget to k at once', (k) => {
    const l = new BudgetLearner();
    expect(playConnection(l, k, DEFAULT_ERROR_BUDGET)).toBe('slept');
    expect(l.budget).toBe(k);
    // Every later connection stays inside it and never sleeps.
    for (let c = 0; c < 5; c++) expect(playConnection(l, k, l.budget - 1)).toBe('fast');
    expect(l.budget).toBe(k);
  });

  test('the budget drops while the overdue reply is outstanding, for every connection at once', () => {
    const l = new BudgetLearner();
    l.fast(0);
    l.fast(1);
    l.fast(2);
    const id = l.suspect(3);
    expect(id).toBeDefined();
    expect(l.budget).toBe(3);
    l.settle(id, undefined);
    expect(l.budget).toBe(3);
  });

  test('a slow 2xx to RCPT (Postfix in_flow_delay before a new queue file) does not lower the budget', () => {
    const l = new BudgetLearner();
    l.fast(0);
    // One refusal, then the first accepted RCPT of the next transaction takes a second.
    const id = l.suspect(1);
    expect(l.budget).toBe(1);
    l.settle(id, { code: 250, command: 'RCPT' });
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
    expect(l.pauses).toBe(1);
  });

  test('a slow 250 to RSET after refusals is error sleep (Postfix sleeps before every reply)', () => {
    const l = new BudgetLearner();
    l.fast(0);
    l.settle(l.suspect(1), { code: 250, command: 'RSET' });
    expect(l.budget).toBe(1);
  });

  test('a slow reply with no refusal before it is not error sleep (callouts, tarpits)', () => {
    const l = new BudgetLearner();
    expect(l.suspect(0)).toBeUndefined();
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
  });

  test('a suspicion contradicted by a fast reply after as many refusals is dropped', () => {
    const l = new BudgetLearner();
    const id = l.suspect(2);
    expect(l.budget).toBe(2);
    l.fast(2);
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
    l.settle(id, { code: 454, command: 'RCPT' });
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
    expect(l.maySleep(2)).toBe(false);
  });

  test('fast replies raise the floor; a reply below it cannot be suspected', () => {
    const l = new BudgetLearner();
    for (let e = 0; e < 5; e++) l.fast(e);
    expect(l.floor).toBe(5);
    expect(l.suspect(4)).toBeUndefined();
    expect(l.maySleep(5)).toBe(true);
  });

  test('a drop (421 too many errors) after e refusals caps the budget at e; a drop without refusals says nothing', () => {
    const l = new BudgetLearner();
    l.dropped(0);
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
    l.dropped(3);
    expect(l.budget).toBe(3);
    l.dropped(5);
    expect(l.budget).toBe(3);
  });

  test('never below one refusal per connection', () => {
    const l = new BudgetLearner(0);
    expect(l.budget).toBe(1);
  });

  test('one explorer at a time may go past the floor; another may once it is released', () => {
    const l = new BudgetLearner();
    const a = {};
    const b = {};
    expect(l.explore(a)).toBe(true);
    expect(l.explore(a)).toBe(true);
    expect(l.explore(b)).toBe(false);
    l.release(b);
    expect(l.explore(b)).toBe(false);
    l.release(a);
    expect(l.explore(b)).toBe(true);
  });

  test('an exploration given up before its reply was overdue: the floor is shown until the reply says more', () => {
    const l = new BudgetLearner();
    l.fast(0);
    l.fast(1);
    l.gaveUp();
    // Nothing proved the default budget, only that two refusals are answered at once.
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
    expect(l.shown).toBe(2);
    // The reply after two refusals came late after all: error sleep at 2.
    l.answered();
    l.late(2, 1_500, { code: 454, command: 'RCPT' });
    expect(l.budget).toBe(2);
    expect(l.shown).toBe(2);
  });

  test('a late reply that came fast raises the floor; a slow 2xx to RCPT is a pause, not sleep', () => {
    const l = new BudgetLearner();
    l.late(3, 5, { code: 454, command: 'RCPT' });
    expect(l.floor).toBe(4);
    l.late(0, 1_200, { code: 250, command: 'RCPT' });
    expect(l.pauses).toBe(1);
    expect(l.budget).toBe(DEFAULT_ERROR_BUDGET);
  });

  test('frugal (a per-client connection rate): no reply is raced, connections go on to the hard limit the server shows', () => {
    const l = new BudgetLearner();
    l.late(0, 5, { code: 554, command: 'RCPT' });
    const id = l.suspect(3);
    expect(l.budget).toBe(3);
    l.beFrugal('the server limits new connections per client (421 4.3.2 Connection rate limit exceeded.)');
    l.beFrugal('a second reason is not kept');
    expect(l.frugal).toMatch(/^the server limits new connections per client \(421/);
    // A suspected error sleep no longer retires connections, and no reply may be given up on.
    expect(l.budget).toBe(1000);
    expect(l.maySleep(3)).toBe(false);
    expect(l.maySleep(50)).toBe(false);
    l.settle(id, { code: 454, command: 'RCPT' });
    expect(l.budget).toBe(1000);
    // The server ended a session after 19 refusals: one fewer from now on.
    l.dropped(19);
    expect(l.budget).toBe(18);
  });
});

import { BudgetLearner } from './budget.js';
import { ConnectionPool } from './pool.js';
import { MAX_RCPTS_PER_TRANSACTION } from '../smtp/limits.js';

/** What relay-check knows about one server (address and port): its session slots and its error budget. */
export interface ServerState {
  pool: ConnectionPool;
  learner: BudgetLearner;
  /** Most recipients one transaction may carry: lowered when the server answers "452 too many recipients". */
  recipientLimit: number;
}

/**
 * One per server for the whole process, not per run or per transport: the
 * plaintext and the STARTTLS pass meet the same smtpd limits, and sessions a
 * finished run left behind still occupy the server's slots when the next run
 * starts.
 */
const servers = new Map<string, ServerState>();

export function serverState(address: string, port: number): ServerState {
  const key = `${address}|${port}`;
  let s = servers.get(key);
  if (!s) {
    s = { pool: new ConnectionPool(), learner: new BudgetLearner(), recipientLimit: MAX_RCPTS_PER_TRANSACTION };
    servers.set(key, s);
  }
  return s;
}

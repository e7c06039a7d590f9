import { describe, test } from '@jest/globals';
import { postfixAvailable } from './postfix.js';

export type Availability = { ok: true } | { ok: false; why: string };

/**
 * `describe` for tests that need a real MTA. Available: a plain describe.
 * Missing and required (CI sets the variable): one failing test that says why.
 * Missing and not required: a loud warning and describe.skip — never silent.
 */
export function describeWithMta(mta: string, requiredVar: string, availability: Availability, name: string, fn: () => void): void {
  if (availability.ok) {
    describe(name, fn);
    return;
  }
  const why = availability.why;
  if (process.env[requiredVar] === '1') {
    describe(name, () => {
      test(`${mta} is available (${requiredVar}=1)`, () => {
        throw new Error(`${mta} tests are required (${requiredVar}=1) but cannot run: ${why}`);
      });
    });
    return;
  }
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!!! ${mta.toUpperCase()} TESTS NOT RUN: ${why}\n!!! Skipped: "${name}". Set ${requiredVar}=1 to make this a failure.\n${bar}\n`);
  describe.skip(name, fn);
}

/** Postfix tests; CI sets RELAY_CHECK_REQUIRE_POSTFIX=1 so they cannot be skipped there. */
export function describePostfix(name: string, fn: () => void): void {
  describeWithMta('Postfix', 'RELAY_CHECK_REQUIRE_POSTFIX', postfixAvailable(), name, fn);
}

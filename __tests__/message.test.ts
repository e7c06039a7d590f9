import { describe, expect, test } from '@jest/globals';
import { testMessage } from '../src/schedule/transaction.js';
import type { RenderedVector } from '../src/battery/render.js';

const opts = { recipient: { address: 'me@example.com', domain: 'example.com' }, probe: 'relay-check' };

function rendered(mailFrom: string, description: string): RenderedVector {
  return { vector: { id: 'v-1', description, provenance: 'test', mailFrom, rcptTo: ['<me@example.com>'] }, helo: 'h.example.net', mailFrom, rcptTo: ['<me@example.com>'] };
}

describe('testMessage (the relaxed-mode DATA body)', () => {
  test('ends with "." alone on its line, CRLF throughout', () => {
    const m = testMessage(rendered('<a@example.org>', 'A vector'), opts);
    expect(m.endsWith('\r\n.')).toBe(true);
    expect(m.split('\r\n').filter((l) => l === '.')).toHaveLength(1);
    expect(m.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  test('dot-stuffs a line that starts with "." (RFC 5321 §4.5.2), so it cannot end the message early', () => {
    const m = testMessage(rendered('<a@example.org>', '. on a line of its own'), opts);
    const lines = m.split('\r\n');
    expect(lines).toContain('.. on a line of its own.');
    expect(lines.slice(0, -1)).not.toContain('.');
  });

  test('the null sender and a bare user take the probe address as From', () => {
    for (const from of ['<>', '<relay-check>']) {
      expect(testMessage(rendered(from, 'x'), opts)).toMatch(/^From: relay-check <relay-check@example\.com>\r\n/);
    }
    expect(testMessage(rendered(' <a@example.org> ', 'x'), opts)).toMatch(/^From: relay-check <a@example\.org>\r\n/);
  });

  test('labelled with the vector, addressed to the recipient', () => {
    const m = testMessage(rendered('<a@example.org>', 'x'), opts);
    expect(m).toMatch(/\r\nTo: <me@example\.com>\r\n/);
    expect(m).toMatch(/\r\nX-Relay-Check-Vector: v-1\r\n/);
    expect(m).toMatch(/\r\nSubject: relay-check open relay test \(v-1\)\r\n/);
  });
});

#!/usr/bin/env node
// Dev tooling, not run in CI: `npm run screenshots` renders the job summary of five real runs
// against loopback servers (an open and a closed private Postfix with STARTTLS, a dual-stack host
// whose IPv6 address relays, a host whose IPv6 address is down, a postfix-config gate) to HTML with marked and GitHub-like
// CSS, and screenshots each in headless Chromium at 1200 px: the first screen, and the whole page.
// Needs `apt-get install -y chromium`; Postfix runs need root and Debian's postfix (else skipped).
// SAFETY: every server listens on 127.0.0.1 or ::1; Postfix delivers to discard: only.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked } from 'marked';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lib = (p) => import(path.join(root, 'lib', p));
const { run } = await lib('src/engine.js');
const { parseSettings } = await lib('src/settings.js');
const { renderSummary } = await lib('src/report/summary.js');
const { startDemoServer } = await lib('src/demo.js');
const { startPostfix, postfixAvailable, freePort } = await lib('__tests__/support/postfix.js');

const out = path.join(root, 'screenshots');
fs.mkdirSync(out, { recursive: true });
const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync('which', [c]).status === 0);
if (!chromium) throw new Error('chromium not found: apt-get install -y chromium');

// GitHub's markdown-body look, near enough to judge layout: font, table borders, code, details.
const CSS = `
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; max-width: 1012px; margin: 0 auto; padding: 32px 16px;
  font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 24px 0 16px; }
h3 { font-size: 1.25em; margin: 24px 0 16px; }
p, ul, table, pre, details, blockquote { margin: 0 0 16px; }
table { border-collapse: collapse; display: block; width: max-content; max-width: 100%; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; vertical-align: top; }
th { font-weight: 600; } tr:nth-child(2n) { background: #f6f8fa; }
code { font: 85% ui-monospace, SFMono-Regular, Menlo, monospace; background: #eff1f3; padding: .2em .4em; border-radius: 6px; }
pre { font: 85% ui-monospace, monospace; background: #f6f8fa; padding: 16px; overflow: auto; border-radius: 6px; }
blockquote { border-left: .25em solid #9a6700; padding: 0 1em; color: #59636e; }
summary { cursor: pointer; } sub { font-size: 75%; color: #59636e; }
`;

function shoot(name, md) {
  fs.writeFileSync(path.join(out, `${name}.md`), md);
  const html = `<!doctype html><meta charset="utf-8"><style>${CSS}</style><article class="markdown-body">${marked.parse(md, { gfm: true })}</article>`;
  const file = path.join(out, `${name}.html`);
  fs.writeFileSync(file, html);
  // The whole page with every <details> open, to judge the folded tables and transcripts too.
  const opened = path.join(out, `${name}-opened.html`);
  fs.writeFileSync(opened, html.replaceAll('<details>', '<details open>'));
  for (const [suffix, height, page] of [['first-screen', 900, file], ['page', 4000, opened]]) {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-chromium-'));
    const r = spawnSync(
      chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${profile}`, '--hide-scrollbars', `--window-size=1200,${height}`, `--screenshot=${path.join(out, `${name}-${suffix}.png`)}`, `file://${page}`],
      { encoding: 'utf8', timeout: 60_000 },
    );
    fs.rmSync(profile, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`chromium failed: ${r.stderr}`);
  }
  console.log(`screenshots/${name}-first-screen.png, screenshots/${name}-page.png`);
}

/** A host with an IPv4 and an IPv6 loopback address, as a DNS answer for one name would give. */
const dualStack = {
  lookup: async () => [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }],
  resolveMx: async () => [],
};

// Dual-stack: the IPv6 address relays, the IPv4 one is closed; then IPv6 down (inconclusive).
const port = await freePort('127.0.0.1');
const v4 = await startDemoServer('closed', 'mx.dual.test', { address: '127.0.0.1', port });
let v6 = await startDemoServer('open', 'mx.dual.test', { address: '::1', port });
try {
  shoot('dual-stack', renderSummary(await run(parseSettings({ host: 'mx.dual.test', port: String(port), timeout: '30' }), { resolver: dualStack })));
  await v6.close();
  v6 = null;
  shoot('inconclusive', renderSummary(await run(parseSettings({ host: 'mx.dual.test', port: String(port), timeout: '30', 'connect-timeout': '3' }), { resolver: dualStack })));
} finally {
  await v4.close();
  await v6?.close();
}

if (postfixAvailable().ok) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-check-shot-tls-'));
  fs.chmodSync(dir, 0o755);
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=mx.relay-check.test', '-keyout', key, '-out', cert, '-days', '2'], { stdio: 'ignore' });
  const pf = await startPostfix(
    [
      { name: 'open', overrides: ['mynetworks=0.0.0.0/0'] },
      { name: 'closed', overrides: [] },
    ],
    { smtpd_tls_cert_file: cert, smtpd_tls_key_file: key, smtpd_tls_security_level: 'may' },
  );
  try {
    for (const name of ['open', 'closed']) {
      shoot(name, renderSummary(await run(parseSettings({ host: '127.0.0.1', port: String(pf.ports[name]), timeout: '60' }))));
    }
    // Gate mode: a configuration whose submission service relays, port 25 closed.
    const { runGate } = await lib('src/gate/gate.js');
    shoot('gate', renderSummary(await runGate(parseSettings({ 'postfix-config': path.join(root, '__tests__', 'fixtures', 'gate', 'submission-open'), timeout: '60' }))));
  } finally {
    await pf.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.log(`Postfix runs skipped: ${postfixAvailable().why}; demo servers instead`);
  for (const kind of ['open', 'closed']) {
    const s = await startDemoServer(kind, `mx.${kind}-demo.test`);
    try {
      shoot(kind, renderSummary(await run(parseSettings({ host: '127.0.0.1', port: String(s.port), timeout: '30' }))));
    } finally {
      await s.close();
    }
  }
}

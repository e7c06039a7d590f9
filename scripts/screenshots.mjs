#!/usr/bin/env node
// Dev tooling, not run in CI: `npm run screenshots` renders README.md's first screen and the job
// summary of five real runs against loopback servers (an open and a closed private Postfix with
// STARTTLS, a dual-stack host whose IPv6 address relays, a host whose IPv6 address is down, a
// postfix-config gate) to HTML with marked and GitHub-like CSS (alerts as GitHub draws them), and
// screenshots each in headless Chromium at 1200 px: the first screen, and the whole page.
// Needs `apt-get install -y chromium fonts-noto-color-emoji` (without the emoji font the banners'
// ✅ ❌ ⚠️ are empty boxes); Postfix runs need root and Debian's postfix (else skipped).
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
if (!chromium) throw new Error('chromium not found: apt-get install -y chromium fonts-noto-color-emoji');
// The summaries' banners are emoji; without a colour emoji font Chromium draws empty boxes and the screenshots mislead.
if (spawnSync('fc-list', [':charset=2705'], { encoding: 'utf8' }).stdout.trim() === '') throw new Error('no emoji font: apt-get install -y fonts-noto-color-emoji');

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
pre code { font-size: 100%; background: transparent; padding: 0; border-radius: 0; }
blockquote { border-left: .25em solid #9a6700; padding: 0 1em; color: #59636e; }
summary { cursor: pointer; } sub { font-size: 75%; color: #59636e; }
.markdown-alert { padding: 8px 16px; margin: 0 0 16px; border-left: .25em solid var(--c); }
.markdown-alert > :last-child { margin-bottom: 0; }
.markdown-alert-title { display: flex; align-items: center; gap: 8px; font-weight: 500; color: var(--c); margin: 0 0 4px; }
.markdown-alert-note { --c: #0969da; } .markdown-alert-tip { --c: #1a7f37; } .markdown-alert-important { --c: #8250df; }
.markdown-alert-warning { --c: #9a6700; } .markdown-alert-caution { --c: #d1242f; }
`;

// GitHub's alert icons (octicons info, light-bulb, report, alert, stop), 16 px, in the alert's colour.
const ALERT_ICON = {
  note: 'M0 8a8 8 0 1 1 16 0A8 8 0 0 1 0 8Zm8-6.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13ZM6.5 7.75A.75.75 0 0 1 7.25 7h1a.75.75 0 0 1 .75.75v2.75h.25a.75.75 0 0 1 0 1.5h-2a.75.75 0 0 1 0-1.5h.25v-2h-.25a.75.75 0 0 1-.75-.75ZM8 6a1 1 0 1 1 0-2 1 1 0 0 1 0 2Z',
  tip: 'M8 1.5c-2.363 0-4 1.69-4 3.75 0 .984.424 1.625.984 2.304l.214.253c.223.264.47.556.673.848.284.411.537.896.621 1.49a.75.75 0 0 1-1.484.211c-.04-.282-.163-.547-.37-.847a8.456 8.456 0 0 0-.542-.68c-.084-.1-.173-.205-.268-.32C3.201 7.75 2.5 6.766 2.5 5.25 2.5 2.31 4.863 0 8 0s5.5 2.31 5.5 5.25c0 1.516-.701 2.5-1.328 3.259-.095.115-.184.22-.268.319-.207.245-.383.453-.541.681-.208.3-.33.565-.37.847a.751.751 0 0 1-1.485-.212c.084-.593.337-1.078.621-1.489.203-.292.45-.584.673-.848.075-.088.147-.173.213-.253.561-.679.985-1.32.985-2.304 0-2.06-1.637-3.75-4-3.75ZM5.75 12h4.5a.75.75 0 0 1 0 1.5h-4.5a.75.75 0 0 1 0-1.5ZM6 15.25a.75.75 0 0 1 .75-.75h2.5a.75.75 0 0 1 0 1.5h-2.5a.75.75 0 0 1-.75-.75Z',
  important: 'M0 1.75C0 .784.784 0 1.75 0h12.5C15.216 0 16 .784 16 1.75v9.5A1.75 1.75 0 0 1 14.25 13H8.06l-2.573 2.573A1.458 1.458 0 0 1 3 14.543V13H1.75A1.75 1.75 0 0 1 0 11.25Zm1.75-.25a.25.25 0 0 0-.25.25v9.5c0 .138.112.25.25.25h2a.75.75 0 0 1 .75.75v2.19l2.72-2.72a.749.749 0 0 1 .53-.22h6.5a.25.25 0 0 0 .25-.25v-9.5a.25.25 0 0 0-.25-.25Zm7 2.25v2.5a.75.75 0 0 1-1.5 0v-2.5a.75.75 0 0 1 1.5 0ZM9 9a1 1 0 1 1-2 0 1 1 0 0 1 2 0Z',
  warning: 'M6.457 1.047c.659-1.234 2.427-1.234 3.086 0l6.082 11.378A1.75 1.75 0 0 1 14.082 15H1.918a1.75 1.75 0 0 1-1.543-2.575Zm1.763.707a.25.25 0 0 0-.44 0L1.698 13.132a.25.25 0 0 0 .22.368h12.164a.25.25 0 0 0 .22-.368Zm.53 3.996v2.5a.75.75 0 0 1-1.5 0v-2.5a.75.75 0 0 1 1.5 0ZM9 11a1 1 0 1 1-2 0 1 1 0 0 1 2 0Z',
  caution: 'M4.47.22A.749.749 0 0 1 5 0h6c.199 0 .389.079.53.22l4.25 4.25c.141.14.22.331.22.53v6a.749.749 0 0 1-.22.53l-4.25 4.25A.749.749 0 0 1 11 16H5a.749.749 0 0 1-.53-.22L.22 11.53A.749.749 0 0 1 0 11V5c0-.199.079-.389.22-.53Zm.84 1.28L1.5 5.31v5.38l3.81 3.81h5.38l3.81-3.81V5.31L10.69 1.5ZM8 4a.75.75 0 0 1 .75.75v3.5a.75.75 0 0 1-1.5 0v-3.5A.75.75 0 0 1 8 4Zm0 8a1 1 0 1 1 0-2 1 1 0 0 1 0 2Z',
};

/**
 * GitHub's alerts (`> [!IMPORTANT]` …): marked leaves them blockquotes with the marker as text;
 * GitHub draws a box in the alert's colour with its icon and title. Only top-level blockquotes
 * whose first line is exactly a marker, as on GitHub.
 */
export function githubAlerts(html) {
  return html.replace(/<blockquote>\s*<p>\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*(?:<br>)?\s*([\s\S]*?)<\/blockquote>/g, (_m, kind, body) => {
    const k = kind.toLowerCase();
    const icon = `<svg viewBox="0 0 16 16" width="16" height="16" fill="currentColor" aria-hidden="true"><path d="${ALERT_ICON[k]}"></path></svg>`;
    return `<div class="markdown-alert markdown-alert-${k}"><p class="markdown-alert-title">${icon}${kind[0]}${k.slice(1)}</p><p>${body}</div>`;
  });
}

function shoot(name, md) {
  fs.writeFileSync(path.join(out, `${name}.md`), md);
  const html = `<!doctype html><meta charset="utf-8"><style>${CSS}</style><article class="markdown-body">${githubAlerts(marked.parse(md, { gfm: true }))}</article>`;
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

// README.md first: what a visitor sees before scrolling (the workflow snippet must be on it).
shoot('readme', fs.readFileSync(path.join(root, 'README.md'), 'utf8'));

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

import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, headless; Playwright's own browser download does not work here. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A page that logs a user into Converse with a probe plugin exposing `_converse` as `window.__c`. */
export function conversePage(settings: Record<string, unknown>): string {
  return `<!doctype html><html><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/converse/converse.min.css"></head>
<body><converse-root></converse-root>
<script type="module" src="/converse/converse.min.js"></script>
<script type="module">
  converse.plugins.add('probe', { initialize() { window.__c = this._converse; } });
  converse.initialize(${JSON.stringify({ assets_path: '/converse', ...settings, whitelisted_plugins: ['probe'] })});
</script></body></html>`;
}

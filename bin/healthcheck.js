#!/usr/bin/env node
// The Docker HEALTHCHECK: exits 0 when GET /health answers 200 within 4 s, else 1. Plain node,
// as the slim image has no curl. MUCPUSH_HEALTH_URL overrides the URL (another http.port).
const url = process.env.MUCPUSH_HEALTH_URL || 'http://127.0.0.1:5280/health';
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}

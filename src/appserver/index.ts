import type { ServerContext } from '../core/context.ts';
import type { Host } from '../host/host.ts';
import type { HttpServer } from '../transport/http.ts';
import { AppServer } from './app-server.ts';
import { installAppServerHttp } from './http.ts';
import type { RequestGuard } from './http-token.ts';
import { DEFAULT_WEBHOOK_OPTIONS, Webhooks, type WebhookOptions } from './webhooks.ts';

export { AppServer, type PushNotificationRecord, type AppServerStats } from './app-server.ts';
export { Webhooks, type WebhookOptions, type WebhookStats } from './webhooks.ts';

export interface InstalledAppServer {
  app: AppServer;
  webhooks: Webhooks;
  stop(): void;
}

/** Starts the built-in app server at `domain` with its HTTP views (behind `guard`) and webhooks. */
export async function installAppServer(
  ctx: ServerContext,
  host: Host,
  http: HttpServer,
  domain: string,
  guard: RequestGuard,
  webhookOptions: WebhookOptions = DEFAULT_WEBHOOK_OPTIONS,
): Promise<InstalledAppServer> {
  const app = new AppServer(ctx, domain);
  await app.load();
  host.disco.addItem(domain, 'Push notifications');
  const webhooks = new Webhooks(ctx.log, () => ({ global: ctx.config.appServer.webhook, perNode: ctx.config.appServer.nodeWebhooks }), webhookOptions);
  // Subscribed even when no URL is set yet: a config reload may add one.
  app.onNotification((n, _seq, json) => {
    if (webhooks.enabled) webhooks.deliver(n, json);
  });
  const stopHttp = installAppServerHttp(app, http, guard);
  return {
    app,
    webhooks,
    stop() {
      stopHttp();
      webhooks.stop();
    },
  };
}

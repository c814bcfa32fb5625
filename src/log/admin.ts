// The admin listener (`--admin ADDR`): /metrics (Prometheus text), /status (an HTML page, or JSON)
// and /health (200 while serving, 503 while draining, so load balancers stop sending). It is a
// listener of its own, never the public one; it is served by Foyer's own engine.
import { serve } from '../server.ts';
import { FoyerError, HttpError } from '../util/errors.ts';
import { errorResponse } from '../util/render-error.ts';
import type { AdminAddress } from './admin-address.ts';
import type { Logger } from './logger.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
import { statusHtml } from './status-page.ts';
import type { StatusSnapshot } from './status.ts';

export interface AdminSources {
  /** Prometheus text: this process's metrics, or the sum over workers in the primary. */
  metrics(): Promise<string>;
  status(): Promise<StatusSnapshot>;
  draining(): boolean;
}

const text = (body: string, status = 200, type = 'text/plain; charset=utf-8') =>
  new Response(body, { status, headers: { 'content-type': type, 'cache-control': 'no-store' } });

/** Hosts a browser names when it really talks to this machine's loopback (WHATWG-serialised). */
function loopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** True for a listener address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return loopbackName(host === '::1' ? '[::1]' : host.toLowerCase());
}

export function adminFetch(
  src: AdminSources,
  log?: Logger,
  opts: { loopbackOnly?: boolean } = {},
): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return errorResponse(new FoyerError('FOYER_METHOD_NOT_ALLOWED', undefined, { allow: 'GET, HEAD' }), req);
    }
    const url = new URL(req.url);
    // DNS rebinding: a web page whose name resolves to 127.0.0.1 would otherwise read /status and
    // /metrics through the visitor's browser. On loopback, only loopback names are answered (as
    // Caddy's admin endpoint does); a listener on another address is reached by any name.
    if (opts.loopbackOnly === true && !loopbackName(url.hostname)) {
      return errorResponse(new FoyerError('FOYER_FORBIDDEN', 'admin: Host is not a loopback name'), req);
    }
    try {
      switch (url.pathname) {
        case '/health':
          // A health check reads the status; `draining` is its documented body, not an error page.
          return src.draining() ? text('draining\n', 503) : text('ok\n');
        case '/metrics':
          return text(await src.metrics(), 200, PROMETHEUS_CONTENT_TYPE);
        case '/status': {
          const snap = await src.status();
          const json =
            url.searchParams.get('format') === 'json' || /application\/json/.test(req.headers.get('accept') ?? '');
          if (json) return text(`${JSON.stringify(snap)}\n`, 200, 'application/json');
          return text(statusHtml(snap), 200, 'text/html; charset=utf-8');
        }
        case '/':
          return new Response(null, { status: 302, headers: { location: '/status' } });
        default:
          return errorResponse(new HttpError(404, 'Not Found: try /status, /metrics or /health'), req);
      }
    } catch (err) {
      log?.error({ err }, 'admin request failed');
      return errorResponse(new HttpError(503, undefined, { cause: err }), req);
    }
  };
}

export async function serveAdmin(address: AdminAddress, src: AdminSources, log: Logger) {
  return serve({
    port: address.port,
    host: address.host,
    fetch: adminFetch(src, log, { loopbackOnly: isLoopbackHost(address.host) }),
    logger: log,
    overrideGlobals: false,
  });
}

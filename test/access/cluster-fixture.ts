// Two worker processes behind node:cluster, as `--workers 2` runs them: the primary holds the
// shared services (rate-limit table, session table) and answers workers over IPC; each worker
// serves a rate-limited session app on the same port. Prints "ready PORT" when both listen.
import cluster from 'node:cluster';
import { rateLimit } from '../../src/access/rate-limit.ts';
import { startPrimaryServices } from '../../src/config/primary-services.ts';
import { serve } from '../../src/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { serveWorker } from '../../src/os/primary-rpc.ts';
import { sessionApp } from './session-app.ts';

const port = Number(process.env.FOYER_TEST_PORT);

if (cluster.isPrimary) {
  await startPrimaryServices({}, createLogger('silent'));
  let listening = 0;
  for (let i = 0; i < 2; i++) {
    const w = cluster.fork();
    serveWorker(w);
    w.on('message', (m: unknown) => {
      if (m === 'listening' && ++listening === 2) process.stdout.write(`ready ${port}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const limit = rateLimit({ rate: '1r/m', burst: 4 });
  const app = sessionApp();
  await serve({
    port,
    logLevel: 'silent',
    fetch: async (req, ctx) => {
      const url = new URL(req.url);
      if (!url.pathname.startsWith('/limited')) return app.fetch(req, ctx);
      try {
        return await limit(req, ctx, async () => new Response(String(process.pid)));
      } catch (e) {
        return new Response(String(process.pid), { status: (e as { status: number }).status });
      }
    },
  });
  process.send?.('listening');
}

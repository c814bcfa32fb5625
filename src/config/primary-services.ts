// Foyer's own shared services, started once in the primary before any worker is forked (or in the
// single process): the state that must be one across workers (rate-limit counters, the default
// session store, summed metrics, the admin listener) lives here and is reached from the workers
// through os/primary-rpc.ts. No application code runs here. Each service adds one line to the list.
import type { Logger } from '../log/logger.ts';
import { provideRateService } from '../access/rate-store.ts';
import { provideSessionService } from '../access/session-store.ts';
import type { FoyerConfig } from './schema.ts';

export interface PrimaryService {
  close(): Promise<void>;
}

type Starter = (config: FoyerConfig, log: Logger) => Promise<PrimaryService | undefined>;

/** One entry per shared service, in start order (they are closed in reverse). */
const STARTERS: Starter[] = [
  // Rate-limit counters and the default session store: one table for all workers (access/).
  async () => {
    provideRateService();
    provideSessionService();
    return undefined;
  },
];

export async function startPrimaryServices(config: FoyerConfig, log: Logger): Promise<{ close(): Promise<void> }> {
  const started: PrimaryService[] = [];
  try {
    for (const start of STARTERS) {
      const service = await start(config, log);
      if (service !== undefined) started.push(service);
    }
  } catch (err) {
    for (const s of started.reverse()) await s.close().catch(() => {});
    throw err;
  }
  return {
    async close() {
      for (const s of started.reverse()) {
        await s.close().catch((err: unknown) => log.error({ err }, 'a shared service failed to close'));
      }
    },
  };
}

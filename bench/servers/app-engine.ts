// The engine alone hosting the app: `serve({ fetch: app.fetch })`, no CLI pipeline around it.
import app from '../fixtures/app/app.mjs';
import { loadFoyer } from '../lib/foyer.ts';
import { port, ready } from './ready.ts';

const { serve } = await loadFoyer();
const server = await serve({ port, host: '127.0.0.1', logLevel: 'warn', fetch: app.fetch });
ready(server.address.port);
process.once('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));

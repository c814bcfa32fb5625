// Offloaded by the benchmark: the heavy route's work, answered in the worker thread.
import { heavy } from './offload-work.ts';

export default (): Response => new Response(heavy());

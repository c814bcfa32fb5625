// The CPU-heavy work of the offload benchmark: a password hash, as a login route would do.
import { pbkdf2Sync } from 'node:crypto';

const ITERATIONS = Number(process.env.HEAVY_ITERATIONS ?? 20_000);

export function heavy(): string {
  return pbkdf2Sync('correct horse battery staple', 'salt', ITERATIONS, 32, 'sha256').toString('hex');
}

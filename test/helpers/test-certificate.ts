// A throwaway self-signed certificate for TLS tests, made with openssl in a temp directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  remove(): void;
}

/** A certificate for CN=localhost valid for a day, or undefined when openssl is missing. */
export function makeTestCertificate(): TestCertificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-tls-'));
  const certFile = join(dir, 'c.pem');
  const keyFile = join(dir, 'k.pem');
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile];
    execFileSync('openssl', [...args, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    return { dir, certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile), remove };
  } catch {
    remove();
    return undefined;
  }
}

export const NO_OPENSSL = 'openssl is not installed: cannot make a test certificate';

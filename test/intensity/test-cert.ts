import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '../helpers/prometheus.js';

/** TestCert is a throw-away self-signed certificate for 127.0.0.1 (an HTTPS fake's identity). */
export interface TestCert {
  key: string;
  cert: string;
  /** The certificate's file: give it to a child process as NODE_EXTRA_CA_CERTS to trust the fake. */
  certPath: string;
  dir: string;
}

/** OPENSSL is the openssl binary, undefined when not installed (tests that need HTTPS are skipped). */
export const OPENSSL = findBinary('openssl');

/** makeTestCert creates a key and a one-day certificate with subjectAltName IP:127.0.0.1 in a temp folder. */
export function makeTestCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-cert-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(OPENSSL!, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath,
    '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath, dir };
}

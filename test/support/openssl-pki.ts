// A small PKI made by the openssl command, for TLS tests: CAs,
// intermediates, servers and clients (EC P-256), each a PEM certificate and
// key, in a temporary directory removed by remove().
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Identity {
  readonly cert: string;
  readonly key: string;
}

export const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
export const CLIENT_EXT = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';
export const serverExt = (...names: string[]): string => `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`;

export class OpensslPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'mg-pki-'));
  readonly ids: Record<string, Identity> = {};
  #serial = 1;

  #openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  /** A key and certificate `name` for `subject` (openssl -subj form), signed by `issuer` (self-signed without one). */
  issue(name: string, subject: string, issuer: string | undefined, ext: string): Identity {
    writeFileSync(join(this.dir, `${name}.ext`), ext);
    this.#openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    const signer = issuer === undefined ? ['-key', `${name}.key`] : ['-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`];
    this.#openssl('x509', '-req', '-in', `${name}.csr`, ...signer, '-set_serial', String(++this.#serial), '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
    const id = { cert: readFileSync(join(this.dir, `${name}.crt`), 'utf8'), key: readFileSync(join(this.dir, `${name}.key`), 'utf8') };
    this.ids[name] = id;
    return id;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// A RequestContext / ResponseContext stand-in for middleware unit tests.
import type { Backend, ClientCertificate, Endpoint, RequestContext, ResponseContext } from '../../../../src/proxy/http/types.ts';

export class FakeRequest implements RequestContext {
  method = 'GET';
  path = '/';
  query = '';
  host = 'example.com';
  clientIp = '198.18.0.10';
  tls = false;
  localPort = 80;
  routeName = 'r';
  backend: Backend | undefined = undefined;
  endpoint: Endpoint | undefined = undefined;
  affinityKey: string | undefined = undefined;
  balanceKey: string | undefined = undefined;
  upstreamTarget = '/';
  upstreamHost = 'example.com';
  readonly fields: [string, string][] = [];
  readonly headers: Record<string, string | string[]> = {};
  certificate: ClientCertificate | undefined = undefined;
  clientCertificate(): ClientCertificate | undefined {
    return this.certificate;
  }
  /** What readBody() finds. */
  body: Buffer = Buffer.alloc(0);
  readBody(maxBytes: number): Promise<Buffer | undefined> {
    return Promise.resolve(this.body.length > maxBytes ? undefined : this.body);
  }

  constructor(init: Partial<Pick<FakeRequest, 'method' | 'host' | 'clientIp' | 'tls' | 'localPort' | 'upstreamTarget'>> & { headers?: Record<string, string> } = {}) {
    const { headers, ...rest } = init;
    Object.assign(this, rest);
    for (const [k, v] of Object.entries(headers ?? {})) {
      this.fields.push([k.toLowerCase(), v]);
      this.headers[k.toLowerCase()] = v;
    }
    const q = this.upstreamTarget.indexOf('?');
    this.path = q < 0 ? this.upstreamTarget : this.upstreamTarget.slice(0, q);
    this.query = q < 0 ? '' : this.upstreamTarget.slice(q + 1);
  }
  header(name: string): string | undefined {
    return this.fields.find(([k]) => k === name.toLowerCase())?.[1];
  }
  headerValues(name: string): string[] {
    return this.fields.filter(([k]) => k === name.toLowerCase()).map(([, v]) => v);
  }
  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.fields.push([name.toLowerCase(), value]);
  }
  addHeader(name: string, value: string): void {
    this.fields.push([name.toLowerCase(), value]);
  }
  removeHeader(name: string): void {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i]![0] === name.toLowerCase()) this.fields.splice(i, 1);
  }
}

export class FakeResponse implements ResponseContext {
  status = 200;
  hasBody = true;
  readonly fields: [string, string][] = [];
  transform: NodeJS.ReadWriteStream | undefined;
  /** What firstBody() returns. */
  early: Uint8Array = new Uint8Array(0);
  constructor(headers: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(headers)) this.fields.push([k.toLowerCase(), v]);
  }
  firstBody(): Uint8Array {
    return this.early;
  }
  header(name: string): string | undefined {
    return this.fields.find(([k]) => k === name.toLowerCase())?.[1];
  }
  headerValues(name: string): string[] {
    return this.fields.filter(([k]) => k === name.toLowerCase()).map(([, v]) => v);
  }
  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.fields.push([name.toLowerCase(), value]);
  }
  addHeader(name: string, value: string): void {
    this.fields.push([name.toLowerCase(), value]);
  }
  removeHeader(name: string): void {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i]![0] === name.toLowerCase()) this.fields.splice(i, 1);
  }
  setBodyTransform(t: NodeJS.ReadWriteStream): void {
    this.transform = t;
  }
  /** What setHeaderFromFirstBody asked for. */
  late: { name: string; derive: (first: Uint8Array) => string | undefined } | undefined;
  setHeaderFromFirstBody(name: string, derive: (first: Uint8Array) => string | undefined): void {
    this.late = { name, derive };
  }
}

// Client certificates as ingress-nginx checks them (auth-tls-*: nginx's
// ssl_verify_client, ssl_verify_depth, and the template's match-cn test and
// fields). The TLS layer asked for the certificate and verified it against
// the host's CA (entrypoint.ts); this decides:
// - on: no certificate -> 400 "No required SSL certificate was sent"; one
//   that did not verify -> 400 "The SSL certificate error";
// - optional: none is fine, one that did not verify -> 400;
// - optional_no_ca: never refused, the fields still say why it failed;
// - require_any (Traefik's RequireAnyClientCert): present, verified or not;
// - off: not asked for (the host is not in the TLS layer's list): NONE;
// - a chain with more intermediates than the depth did not verify (OpenSSL's
//   verify depth: 1 allows leaf, one intermediate, trust anchor), nor one
//   whose intermediates could not be counted (fail closed; the CA bundle
//   with the intermediates in it makes them countable);
// - auth-tls-error-page: a refusal redirects there (302) instead;
// - auth-tls-match-cn: a subject DN that does not match -> 403.
// With `fields` (ingress-nginx) the upstream gets ssl-client-verify (SUCCESS, NONE or FAILED:<reason>),
// ssl-client-subject-dn, ssl-client-issuer-dn, and with
// pass-certificate-to-upstream ssl-client-cert (the PEM, URL-escaped as
// nginx's $ssl_client_escaped_cert); a client cannot send its own.

import type { ClientCertificate, Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { ClientCertSpec } from '../../model/middleware-spec.ts';

const FIELDS = ['ssl-client-verify', 'ssl-client-subject-dn', 'ssl-client-issuer-dn', 'ssl-client-cert'];

function reason(cert: ClientCertificate, tooDeep: boolean, unknown: boolean): string {
  if (tooDeep) return 'certificate chain too long';
  if (unknown) return 'intermediate certificates not in the CA bundle (auth-tls-verify-depth cannot be checked)';
  return cert.error ?? 'unable to verify the first certificate';
}

export function clientCert(name: string, spec: ClientCertSpec): Middleware {
  const refuse = (message: string): SimpleResponse =>
    spec.errorPage !== undefined ? { status: 302, headers: [['location', spec.errorPage]], body: '' } : { status: 400, body: `400 Bad Request\n${message}\n` };
  const depth = spec.depth;
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (spec.fields) for (const f of FIELDS) ctx.removeHeader(f);
      const cert = ctx.clientCertificate();
      // nginx's $ssl_client_verify: optional_no_ca still records why a certificate did not verify, it only does not refuse it.
      let verify = 'NONE';
      if (cert?.presented && spec.verify !== 'off') {
        // Verified against this route's CA only: a connection opened for another host proves nothing here.
        const otherCa = spec.caDigest !== undefined && cert.caDigest !== spec.caDigest;
        const verified = cert.verified && !otherCa;
        // Intermediates that could not be counted fail a depth check (see client-certificate.ts); without a limit they do not matter.
        const unknown = depth !== undefined && verified && cert.intermediates === undefined;
        const tooDeep = depth !== undefined && verified && cert.intermediates !== undefined && cert.intermediates > depth;
        verify = verified && !tooDeep && !unknown ? 'SUCCESS' : `FAILED:${otherCa ? 'verified against another host\'s CA' : reason(cert, tooDeep, unknown)}`;
      }
      const checked = spec.verify === 'on' || spec.verify === 'optional';
      const required = spec.verify === 'on' || spec.verify === 'require_any';
      if (required && !cert?.presented) return refuse('No required SSL certificate was sent');
      if (checked && verify.startsWith('FAILED')) return refuse('The SSL certificate error');
      if (spec.matchCn !== undefined && !spec.matchCn.test(cert?.subjectDn ?? '')) return { status: 403, body: 'client certificate unauthorized' };
      if (!spec.fields) return undefined;
      ctx.setHeader('ssl-client-verify', verify);
      if (cert?.presented && spec.verify !== 'off') {
        ctx.setHeader('ssl-client-subject-dn', cert.subjectDn);
        ctx.setHeader('ssl-client-issuer-dn', cert.issuerDn);
        if (spec.passCertificate) ctx.setHeader('ssl-client-cert', encodeURIComponent(cert.pem));
      }
      return undefined;
    },
  };
}

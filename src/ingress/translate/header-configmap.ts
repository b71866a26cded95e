// Header fields listed in a ConfigMap, as two ingress-nginx annotations name
// them: custom-headers (fields set on every answer, nginx's
// more_set_headers) and auth-proxy-set-headers (fields set on the auth
// subrequest, nginx's proxy_set_header). One key per field, its value the
// field's value; values may hold nginx variables. Pure: the ConfigMap comes
// from the ClusterView.
//
// Checks, each an error naming the ConfigMap and the key (the Ingress is not
// served, or its last good version stays):
// - the reference is `name` or `namespace/name` of the Ingress's own
//   namespace: the speaker reads every namespace's ConfigMaps, and an
//   Ingress must not pull another tenant's into its answers (ingress-nginx
//   documents the same rule for custom-headers);
// - names as ingress-nginx checks them (letters, digits, `-`, `_`);
// - custom-headers values as ingress-nginx checks them (its character set,
//   at least one character): a value ingress-nginx would refuse is refused
//   here too, so one set of objects means the same on both;
// - fields that frame or route the message (Content-Length,
//   Transfer-Encoding, Connection, Host, ...) are refused: setting them
//   would corrupt the exchange, whatever the owner meant (nginx sends a
//   second Host line, which the receiver refuses);
// - a ConfigMap that does not exist, or holds no field, is an error, as in
//   ingress-nginx (which denies the location).
//
// ingress-nginx 1.12+ also requires each custom-headers name to be listed in
// the controller-wide `global-allowed-response-headers`. That list guards
// nginx's configuration against injection through values; metalgate builds
// no configuration text and checks values itself, so it has no such list.

import type { ClusterView } from './cluster-view.ts';
import type { TemplatePart } from '../model/middleware-spec.ts';
import { parseNginxTemplate } from './nginx-template.ts';

export type HeaderList = readonly (readonly [string, readonly TemplatePart[]])[];

const NAME = /^[a-zA-Z\d\-_]+$/;
/** ingress-nginx's custom-headers value character set. */
const VALUE = /^[a-zA-Z\d_ :;.,\\/"'?!(){}[\]@<>=\-+*#$&`|~^%]+$/;
/** Fields the proxy owns: message framing and connection management. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);
const REF = /^(?:([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\/)?([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)$/;

export type HeaderConfigMapResult = { readonly ok: true; readonly headers: HeaderList } | { readonly ok: false; readonly reason: string; readonly error: string };

/**
 * The fields of the ConfigMap `ref` names. `strictValues`: custom-headers'
 * value check (non-empty, ingress-nginx's characters); without it a value
 * only has to be one line, and an empty one removes the field.
 */
export function headersFromConfigMap(ref: string, namespace: string, view: ClusterView, strictValues: boolean): HeaderConfigMapResult {
  const m = REF.exec(ref.trim());
  if (m === null) return { ok: false, reason: 'BadAnnotation', error: `${JSON.stringify(ref)} is not a ConfigMap name (or namespace/name)` };
  const ns = m[1] ?? namespace;
  const name = m[2]!;
  if (ns !== namespace) {
    return { ok: false, reason: 'BadAnnotation', error: `ConfigMap ${ns}/${name} is in another namespace; a ConfigMap of the Ingress's own namespace (${namespace}) is required` };
  }
  const cm = view.configMap(ns, name);
  if (cm === undefined) return { ok: false, reason: 'MissingConfigMap', error: `ConfigMap ${ns}/${name} not found` };
  const where = (key: string) => `ConfigMap ${ns}/${name} key ${JSON.stringify(key)}`;
  const out: [string, TemplatePart[]][] = [];
  for (const [key, value] of Object.entries(cm.data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!NAME.test(key)) return { ok: false, reason: 'BadConfigMap', error: `${where(key)} is not a header name (letters, digits, - and _)` };
    if (FRAMING.has(key.toLowerCase())) return { ok: false, reason: 'BadConfigMap', error: `${where(key)}: ${key} frames the message and is set by the proxy only` };
    if (key.toLowerCase() === 'host') return { ok: false, reason: 'BadConfigMap', error: `${where(key)}: Host is set by the proxy (to the auth URL's host, or upstream-vhost)` };
    if (strictValues ? !VALUE.test(value) : /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      return { ok: false, reason: 'BadConfigMap', error: `${where(key)}: ${JSON.stringify(value)} is not a valid header value${strictValues ? ' (non-empty; letters, digits, spaces and the punctuation ingress-nginx allows)' : ' (one line)'}` };
    }
    const t = parseNginxTemplate(value);
    if (!t.ok) return { ok: false, reason: 'BadConfigMap', error: `${where(key)}: ${t.error}` };
    out.push([key, t.parts]);
  }
  if (out.length === 0) return { ok: false, reason: 'BadConfigMap', error: `ConfigMap ${ns}/${name} holds no header field under data` };
  return { ok: true, headers: out };
}

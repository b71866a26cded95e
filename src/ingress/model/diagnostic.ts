// What the translators say about one Kubernetes object: every problem is
// tied to the object it comes from, so the adapter can write it as an Event
// on that object (and log it), and a bad object never hides behind another.

export type ObjectKind = 'Ingress' | 'IngressClass' | 'IngressRoute' | 'Middleware' | 'TraefikService' | 'TLSStore' | 'IngressRouteTCP' | 'IngressRouteUDP';

export interface ObjectRef {
  readonly kind: ObjectKind;
  /** e.g. `networking.k8s.io/v1`, `traefik.io/v1alpha1`. */
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export type DiagnosticType = 'Normal' | 'Warning';

export interface Diagnostic {
  readonly ref: ObjectRef;
  readonly type: DiagnosticType;
  /** CamelCase Event reason, e.g. `BadRule`, `MissingService`, `UnsupportedAnnotation`. */
  readonly reason: string;
  readonly message: string;
  /**
   * An error makes the object unusable as a whole (it is left out, or its
   * last good version is kept); a warning is served around.
   */
  readonly severity: 'error' | 'warning' | 'info';
}

export function refKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** Collects diagnostics for one object. */
export class DiagnosticSink {
  readonly ref: ObjectRef;
  readonly items: Diagnostic[] = [];

  constructor(ref: ObjectRef) {
    this.ref = ref;
  }

  error(reason: string, message: string): void {
    this.items.push({ ref: this.ref, type: 'Warning', reason, message, severity: 'error' });
  }

  warn(reason: string, message: string): void {
    this.items.push({ ref: this.ref, type: 'Warning', reason, message, severity: 'warning' });
  }

  info(reason: string, message: string): void {
    this.items.push({ ref: this.ref, type: 'Normal', reason, message, severity: 'info' });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }
}

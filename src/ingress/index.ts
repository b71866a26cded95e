// Public surface of the ingress rule engine.

export { IngressCompiler, type CompiledIngress, type IngressCompilerOptions } from './compile/ingress-compiler.ts';
export { IngressController, type IngressControllerOptions } from './k8s/ingress-controller.ts';
export { attachIngressEngine, type ProxyHooks } from './k8s/attach-to-proxy.ts';
export { IngressRouter } from './runtime/router.ts';
export { RuntimeFactory, type RuntimeTarget, type RuntimeFactoryOptions } from './runtime/runtime-target.ts';
export type { ServiceBackendSource } from './runtime/backends.ts';
export { FlaggerMetrics } from './runtime/flagger-metrics.ts';
export type { Diagnostic, ObjectRef } from './model/diagnostic.ts';
export type { RouteTarget } from './model/route-target.ts';
export type { CertificateRequirement } from './translate/ingress.ts';
export { CONTROLLER_NAME } from './translate/ingress-class.ts';

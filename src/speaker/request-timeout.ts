// Request options that abort an API call after a deadline. client-node's
// generated clients wait as long as the connection does: a half-open
// connection to a dead API server would stall the heartbeat for minutes.
import * as k8s from '@kubernetes/client-node';

function timeoutMiddleware(ms: number): k8s.ObservableMiddleware {
  return {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(ms));
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (context) => new k8s.Observable(Promise.resolve(context)),
  };
}

/** `base` (e.g. the merge-patch header options) plus a deadline of `ms`. */
export function withTimeout(ms: number, base?: k8s.ConfigurationOptions): k8s.ConfigurationOptions {
  return {
    ...base,
    middleware: [...(base?.middleware ?? []), timeoutMiddleware(ms)],
    middlewareMergeStrategy: 'append',
  };
}

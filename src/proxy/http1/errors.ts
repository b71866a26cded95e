/**
 * A message that cannot be accepted. `status` is what a server answers when
 * the message came from a client; for upstream responses the proxy answers
 * 502 whatever the status says. `code` is stable and meant for logs/metrics.
 */
export class HttpParseError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = 'HttpParseError';
    this.code = code;
    this.status = status;
  }
}

export const badRequest = (code: string, message: string): HttpParseError =>
  new HttpParseError(code, 400, message);

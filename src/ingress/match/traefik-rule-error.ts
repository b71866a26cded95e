// The one error shape of the Traefik rule pipeline (tokenizer, parser,
// matcher compiler). Returned, never thrown: a bad rule on one IngressRoute
// must be reported on that object while every other route keeps working.

export interface TraefikRuleError {
  /** What is wrong, without the position. */
  readonly reason: string;
  /** 0-based UTF-16 offset into the rule text. */
  readonly position: number;
  /** `${reason} at ${position}`: the line for Events, status and logs. */
  readonly message: string;
}

export function ruleError(reason: string, position: number): TraefikRuleError {
  return Object.freeze({ reason, position, message: `${reason} at ${position}` });
}

/** A rule value for a message, quoted the way rules quote it. */
export function showValue(value: string): string {
  return /^[^`\x00-\x1f\x7f]*$/.test(value) ? `\`${value}\`` : JSON.stringify(value);
}

// Byte classes from RFC 9110 §5.6.2 (token), §5.5 (field values) and RFC 9112 §3.2
// (request-target), as 256-entry tables so the hot loops do one load per byte.

function table(pred: (b: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = pred(b) ? 1 : 0;
  return t;
}

const isAlpha = (b: number) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

/** tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TOKEN = table((b) => isAlpha(b) || isDigit(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)));

/** Bytes allowed inside a field value: VCHAR, obs-text, SP, HTAB. No CR, LF, NUL or other CTL. */
export const FIELD_VALUE = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f));

/**
 * Bytes allowed in a request-target. Visible ASCII except "#" (a fragment is never
 * part of a request). Like llhttp we admit the characters real clients send raw
 * although RFC 3986 wants them percent-encoded (| { } ^ ` [ ] \ " < >): they
 * cannot move a message boundary, and rejecting them breaks curl users.
 */
export const TARGET = table((b) => b > 0x20 && b < 0x7f && b !== 0x23);

/**
 * Bytes allowed in a Host value: reg-name / IP-literal / IPv4 and ":" port,
 * i.e. unreserved, sub-delims, pct-encoded, "[", "]" and ":".
 */
export const HOST = table(
  (b) => isAlpha(b) || isDigit(b) || "-._~!$&'()*+,;=%[]:".includes(String.fromCharCode(b)),
);

/** HEXDIG value + 1, 0 when not a hex digit. */
export const HEX = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i + 1;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 11 + i;
    t[0x61 + i] = 11 + i;
  }
  return t;
})();

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

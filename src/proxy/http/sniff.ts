// A media type from the first bytes of a body, for Traefik's contentType
// middleware (Traefik, in Go, lets net/http sniff what the backend did not
// label). The rules are the WHATWG MIME Sniffing standard's as Go applies
// them: at most 512 bytes; HTML and XML after leading whitespace, tags
// matched without case and ended by a space or '>'; fixed signatures for
// documents, images, audio, fonts and archives; text/plain when no byte is
// binary, else application/octet-stream. Pure.

const SNIFF_LEN = 512;
const HTML = 'text/html; charset=utf-8';

const HTML_TAGS = ['<!DOCTYPE HTML', '<HTML', '<HEAD', '<SCRIPT', '<IFRAME', '<H1', '<DIV', '<FONT', '<TABLE', '<A', '<STYLE', '<TITLE', '<B', '<BODY', '<BR', '<P', '<!--'].map((t) => Buffer.from(t, 'latin1'));

/** Signatures from the first byte; `.` matches any byte (no signature has a literal dot). */
const SIGNATURES: ReadonlyArray<readonly [pattern: string, type: string]> = [
  ['%PDF-', 'application/pdf'],
  ['%!PS-Adobe-', 'application/postscript'],
  ['\xFE\xFF', 'text/plain; charset=utf-16be'],
  ['\xFF\xFE', 'text/plain; charset=utf-16le'],
  ['\xEF\xBB\xBF', 'text/plain; charset=utf-8'],
  ['\x00\x00\x01\x00', 'image/x-icon'],
  ['\x00\x00\x02\x00', 'image/x-icon'],
  ['BM', 'image/bmp'],
  ['GIF87a', 'image/gif'],
  ['GIF89a', 'image/gif'],
  ['RIFF....WEBPVP', 'image/webp'],
  ['\x89PNG\r\n\x1A\n', 'image/png'],
  ['\xFF\xD8\xFF', 'image/jpeg'],
  ['FORM....AIFF', 'audio/aiff'],
  ['ID3', 'audio/mpeg'],
  ['OggS\x00', 'application/ogg'],
  ['MThd\x00\x00\x00\x06', 'audio/midi'],
  ['RIFF....AVI ', 'video/avi'],
  ['RIFF....WAVE', 'audio/wave'],
  ['\x00\x01\x00\x00', 'font/ttf'],
  ['OTTO', 'font/otf'],
  ['ttcf', 'font/collection'],
  ['wOFF', 'font/woff'],
  ['wOF2', 'font/woff2'],
  ['\x1F\x8B\x08', 'application/x-gzip'],
  ['PK\x03\x04', 'application/zip'],
  ['Rar!\x1A\x07\x00', 'application/x-rar-compressed'],
  ['Rar!\x1A\x07\x01\x00', 'application/x-rar-compressed'],
  ['\x00asm', 'application/wasm'],
  ['\x1A\x45\xDF\xA3', 'video/webm'],
];

function startsWith(data: Uint8Array, at: number, pattern: string): boolean {
  if (data.length - at < pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern.charCodeAt(i);
    if (p !== 0x2e && data[at + i] !== p) return false;
  }
  return true;
}

const isWhitespace = (b: number): boolean => b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || b === 0x20;
const isBinary = (b: number): boolean => b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);

/** A tag at `at`, case-insensitive, followed by a space or '>'. */
function htmlTagAt(data: Uint8Array, at: number, tag: Uint8Array): boolean {
  if (data.length - at < tag.length + 1) return false;
  for (let i = 0; i < tag.length; i++) {
    let b = data[at + i]!;
    if (b >= 0x61 && b <= 0x7a) b -= 0x20;
    if (b !== tag[i]) return false;
  }
  const end = data[at + tag.length]!;
  return end === 0x20 || end === 0x3e;
}

/** An ISO BMFF `ftyp` box naming an mp4 brand (major or compatible), as WHATWG's mp4 rule. */
function isMp4(data: Uint8Array): boolean {
  if (data.length < 12) return false;
  const size = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
  if (size > data.length || size % 4 !== 0 || size < 12) return false;
  if (data[4] !== 0x66 || data[5] !== 0x74 || data[6] !== 0x79 || data[7] !== 0x70) return false; // "ftyp"
  const mp4At = (i: number): boolean => data[i] === 0x6d && data[i + 1] === 0x70 && data[i + 2] === 0x34; // "mp4"
  if (mp4At(8)) return true;
  for (let i = 16; i + 3 <= size; i += 4) if (mp4At(i)) return true;
  return false;
}

export function sniffContentType(body: Uint8Array): string {
  const data = body.length > SNIFF_LEN ? body.subarray(0, SNIFF_LEN) : body;
  let ws = 0;
  while (ws < data.length && isWhitespace(data[ws]!)) ws++;
  for (const tag of HTML_TAGS) if (htmlTagAt(data, ws, tag)) return HTML;
  if (startsWith(data, ws, '<?xml')) return 'text/xml; charset=utf-8';
  for (const [pattern, type] of SIGNATURES) if (startsWith(data, 0, pattern)) return type;
  if (isMp4(data)) return 'video/mp4';
  for (const b of data) if (isBinary(b)) return 'application/octet-stream';
  return 'text/plain; charset=utf-8';
}

/**
 * The payload bytes of a chunked body's first chunk that are in `buf` from
 * `start` (the size line skipped); empty when the size line is not all
 * there.
 */
export function firstChunkData(buf: Uint8Array, start: number): Uint8Array {
  let i = start;
  let size = 0;
  for (; i < buf.length; i++) {
    const b = buf[i]!;
    const d = b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1;
    if (d < 0) break;
    size = size * 16 + d;
    if (size > 0x7fffffff) return new Uint8Array(0);
  }
  // Skip extensions up to CRLF.
  while (i < buf.length && buf[i] !== 0x0a) i++;
  if (i >= buf.length) return new Uint8Array(0);
  i++;
  return buf.subarray(i, Math.min(buf.length, i + size));
}

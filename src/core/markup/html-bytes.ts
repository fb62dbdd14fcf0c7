// Turns the bytes of an HTML page or file into text: BOM first, then the declared charset (an HTTP
// header's, else the one a `<meta>` declares), then UTF-8, then windows-1252 for bytes that are not
// UTF-8. A declared legacy charset gives way to UTF-8 when the bytes are valid UTF-8, as pages often
// declare one and are UTF-8. Files that are not HTML text (binary, empty, corrupt gzip, unknown
// charset) come back as a reason, never a crash. Used by the offline extractor and the crawler's
// page parsing alike, so a page reads the same either way.
import { gunzipSync } from 'node:zlib';
import { binaryContentReason } from './binary.js';

export type DecodedHtml = { ok: true; html: string; encoding: string } | { ok: false; reason: string };

const SNIFF_BYTES = 4096;
const META_CHARSET = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i;

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function bomEncoding(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

// Node's TextDecoder decodes windows-1252 as ISO-8859-1, leaving 0x80–0x9F as C1 controls; these
// are the characters windows-1252 (the WHATWG encoding) puts there.
const WINDOWS_1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

function decodeWindows1252(bytes: Uint8Array): string {
  return new TextDecoder('latin1').decode(bytes).replace(/[\x80-\x9f]/g, (c) => WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80]!);
}

function decodeWith(decoder: TextDecoder, bytes: Uint8Array): string {
  return decoder.encoding === 'windows-1252' ? decodeWindows1252(bytes) : decoder.decode(bytes);
}

function decoderFor(label: string, fatal: boolean): TextDecoder | undefined {
  try {
    return new TextDecoder(label, { fatal });
  } catch {
    return undefined;
  }
}

/** The text of HTML bytes already known to be text: BOM, then `declared` or the `<meta>` charset, then UTF-8, then windows-1252. */
export function decodeHtmlText(bytes: Uint8Array, declared?: string): DecodedHtml {
  const bom = bomEncoding(bytes);
  if (bom) return { ok: true, html: new TextDecoder(bom).decode(bytes), encoding: bom };
  const label = declared?.toLowerCase() ?? new TextDecoder('latin1').decode(bytes.subarray(0, SNIFF_BYTES)).match(META_CHARSET)?.[1]?.toLowerCase();
  if (label) {
    const decoder = decoderFor(label, false);
    if (!decoder) return { ok: false, reason: `unsupported charset "${label}"` };
    // Declared UTF-8 is taken at its word: a stray bad byte becomes U+FFFD, not a windows-1252 page.
    if (decoder.encoding === 'utf-8') return { ok: true, html: decoder.decode(bytes), encoding: 'utf-8' };
    try {
      return { ok: true, html: decoderFor('utf-8', true)!.decode(bytes), encoding: 'utf-8' };
    } catch {
      return { ok: true, html: decodeWith(decoder, bytes), encoding: decoder.encoding };
    }
  }
  try {
    return { ok: true, html: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { ok: true, html: decodeWindows1252(bytes), encoding: 'windows-1252' };
  }
}

/** The text of an HTML file's bytes (plain or gzip), or why it is not HTML text. */
export function decodeHtmlBytes(input: Uint8Array): DecodedHtml {
  let bytes = input;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      return { ok: false, reason: `corrupt gzip (${(error as Error).message})` };
    }
  }
  if (bytes.length === 0) return { ok: false, reason: 'empty file' };
  // UTF-16 is recognised by its BOM, before the check for binary bytes.
  if (!bomEncoding(bytes)) {
    const binary = binaryContentReason(bytes);
    if (binary) return { ok: false, reason: binary };
  }
  return decodeHtmlText(bytes);
}

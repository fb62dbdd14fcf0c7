// Whether bytes that claim to be an HTML page are text at all. Text in any charset but UTF-16/32
// (recognised by their BOM before this is asked) has no NUL bytes and almost no other C0 control
// characters; bytes that are mostly not UTF-8 and declare no charset are not text either. Both the
// crawler (on the body as it was decoded) and `extract` (on a file's bytes) ask this, so a page is
// refused the same way on either path.

/** Enough of the start to judge: a binary file shows itself in its first kilobytes. */
const SAMPLE_CHARS = 64 * 1024;
/** Share of control characters (other than tab, newlines, form feed) above which it is binary. */
const MAX_CONTROL_SHARE = 0.01;
/** Share of characters that were not UTF-8 above which undeclared bytes are binary. */
const MAX_INVALID_UTF8_SHARE = 0.3;
const DECLARED_CHARSET = /charset\s*=/i;
/** NUL, the other C0 controls but tab, newlines and form feed, DEL, and the replacement character. */
const SUSPECT = /[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]/;

/** Why `content` (bytes, or text as it was decoded as UTF-8) is not text, or undefined when it is. */
export function binaryContentReason(content: Uint8Array | string): string | undefined {
  const sample = typeof content === 'string' ? content.slice(0, SAMPLE_CHARS) : new TextDecoder('utf-8').decode(content.subarray(0, SAMPLE_CHARS));
  if (sample.length === 0) return undefined;
  // Most pages have none of the characters counted below: one native scan tells, instead of a loop over every character.
  if (!SUSPECT.test(sample)) return undefined;
  let controls = 0;
  let invalid = 0;
  for (let i = 0; i < sample.length; i++) {
    const code = sample.charCodeAt(i);
    if (code === 0) return 'binary content (NUL bytes), not HTML text';
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d) || code === 0x7f) controls++;
    else if (code === 0xfffd) invalid++;
  }
  if (controls / sample.length > MAX_CONTROL_SHARE) return `binary content (${controls} control characters in ${sample.length}), not HTML text`;
  if (invalid / sample.length > MAX_INVALID_UTF8_SHARE && !DECLARED_CHARSET.test(sample.slice(0, 4096))) {
    return `binary content (${Math.round((100 * invalid) / sample.length)}% invalid UTF-8, no charset declared), not HTML text`;
  }
  return undefined;
}

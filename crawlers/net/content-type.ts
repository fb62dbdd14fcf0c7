// A response's media type and declared charset, from its Content-Type header; without a usable
// header, from the URL's extension (an .html page is HTML, anything else unknown bytes, as
// RFC 9110 §8.3 has it).
export interface ContentType {
  /** The media type, lower-case, without parameters (`text/html`). */
  type: string;
  /** The `charset` parameter, if the header has one. */
  charset?: string;
}

const MEDIA_TYPE = /^\s*([\w.+-]+\/[\w.+-]+)\s*(?:;|$)/;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;

export function contentTypeOf(header: string | string[] | undefined, url: string): ContentType {
  const value = Array.isArray(header) ? header[0] : header;
  const type = value === undefined ? undefined : MEDIA_TYPE.exec(value)?.[1];
  if (type) {
    const charset = CHARSET.exec(value!)?.[1];
    return charset ? { type: type.toLowerCase(), charset } : { type: type.toLowerCase() };
  }
  return { type: /\.x?html?$/i.test(new URL(url).pathname) ? 'text/html' : 'application/octet-stream' };
}

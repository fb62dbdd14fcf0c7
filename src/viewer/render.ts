// Crawled markdown and generated answers to safe HTML: placeholders and image citations become
// `<img>` tags pointing at the blob route, markdown is rendered by marked, and the result goes
// through sanitize-html with a small allowlist, so nothing a crawled page carried (scripts, event
// handlers, javascript: links, remote images) survives. The CSP is the second wall.
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { PLACEHOLDER_PATTERN } from '../core/markup/placeholder.js';

const BLOB_SRC = /^\/blob\/[0-9a-f]{64}$/;

const marked = new Marked({ gfm: true, breaks: false, async: false });

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    ...['p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'em', 'strong', 'del', 's', 'sup', 'sub'],
    ...['ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'a', 'img', 'figure', 'figcaption', 'span'],
  ],
  allowedAttributes: { a: ['href', 'title', 'rel', 'target'], img: ['src', 'alt', 'title'], th: ['align'], td: ['align'] },
  allowedSchemes: ['http', 'https'],
  allowProtocolRelative: false,
  // Only our own blobs may be drawn: a crawled page's remote image would be a request to its site.
  exclusiveFilter: (frame) => frame.tag === 'img' && !BLOB_SRC.test(frame.attribs.src ?? ''),
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }) },
  disallowedTagsMode: 'discard',
};

export function sanitize(html: string): string {
  return sanitizeHtml(html, SANITIZE);
}

export function markdownToSafeHtml(markdown: string): string {
  return sanitize(marked.parse(markdown) as string);
}

function imageMarkdown(imageId: string | undefined, label: string): string {
  const alt = label.replace(/[[\]\\]/g, ' ');
  return imageId ? `![${alt}](/blob/${imageId})` : `*[${alt}: not fetched]*`;
}

/** A page's (or chunk's) markdown with each `<IMAGE_PLACEHOLDER>[k]` drawn as occurrence k's image. */
export function renderPageMarkdown(markdown: string, imageIdAt: (k: number) => string | undefined): string {
  const withImages = markdown.replace(new RegExp(PLACEHOLDER_PATTERN.source, 'g'), (_m, k: string) => `\n\n${imageMarkdown(imageIdAt(Number(k)), `image ${k}`)}\n\n`);
  return markdownToSafeHtml(withImages);
}

const CITATION = /(!\[[^\]]*\]\()\s*(?:\.\/)?images\/(\d+)(?:\.[A-Za-z0-9]+)?\s*\)/g;

/** An answer with its `images/k.ext` citations (1-based over the generation's input images) drawn inline. */
export function renderAnswer(output: string, inputImageIds: string[]): string {
  const withImages = output.replace(CITATION, (_m, open: string, k: string) => {
    const id = inputImageIds[Number(k) - 1];
    return id ? `${open}/blob/${id})` : `${open}#missing-image-${k})`;
  });
  return markdownToSafeHtml(withImages);
}

/** The image type from the bytes' magic numbers; only raster types a browser draws without running anything. */
export function sniffRasterType(bytes: Buffer): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

// Offline extraction of HTML files (`.html`, `.html.gz`) as `m2rag extract` and the benchmark run
// it: decode, mark images as the crawler does (markImagesInHtml), extract. A bad file gives an empty
// result with its reason, never an exception.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { markImagesInHtml } from '../../src/core/markup/page-images.js';
import { decodeHtmlBytes } from '../../src/core/markup/html-bytes.js';
import { extractMainContent, type ExtractedContent } from './extract.js';

const HTML_FILE = /\.html?(\.gz)?$/i;

export interface ExtractedFile {
  /** The file name without `.html`/`.html.gz`. */
  name: string;
  file: string;
  content?: ExtractedContent;
  /** Why nothing was extracted (unreadable, binary, undecodable). */
  warning?: string;
}

export function nameOf(file: string): string {
  return path.basename(file).replace(HTML_FILE, '');
}

/** The HTML files of `target`: the file itself, or a directory's `.html`/`.html.gz` files in name order. */
export async function listHtmlFiles(target: string): Promise<string[]> {
  const info = await stat(target);
  if (!info.isDirectory()) return [target];
  const names = (await readdir(target)).filter((name) => HTML_FILE.test(name)).sort();
  return names.map((name) => path.join(target, name));
}

/**
 * Offline files have no origin, and findPageImages keeps only http(s) images: relative image URLs
 * resolve against `https://offline.invalid/<file name>` (a reserved, never-resolving host), so every
 * image still gets its placeholder.
 */
export const OFFLINE_ORIGIN = 'https://offline.invalid/';

function offlineBaseUrl(file: string): string {
  return OFFLINE_ORIGIN + encodeURIComponent(path.basename(file));
}

export async function extractFile(file: string): Promise<ExtractedFile> {
  const name = nameOf(file);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return { name, file, warning: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  const decoded = decodeHtmlBytes(bytes);
  if (!decoded.ok) return { name, file, warning: decoded.reason };
  try {
    const marked = markImagesInHtml(decoded.html, offlineBaseUrl(file));
    return { name, file, content: extractMainContent(marked) };
  } catch (error) {
    return { name, file, warning: `extraction failed (${(error as Error).message})` };
  }
}

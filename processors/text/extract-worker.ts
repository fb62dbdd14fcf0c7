// The body of an extraction worker thread (see extract-pool.ts): one page's HTML in, its main
// content out. Readability is synchronous, so only a thread of its own can be stopped mid-page.
import { extractMainContent, type ExtractedContent } from './extract.js';

export default function extractInWorker(html: string): ExtractedContent {
  return extractMainContent(html);
}

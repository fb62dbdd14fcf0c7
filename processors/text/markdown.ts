// HTML → markdown for the main content (turndown + GFM tables): headings and lists kept, links
// reduced to their text, each marked image (`data-m2rag-occurrence="k"`) replaced in place by
// `<IMAGE_PLACEHOLDER>[k]`, unmarked images dropped. Also the plain text of the same content.
import TurndownService from 'turndown';
import { tables } from '@joplin/turndown-plugin-gfm';
import { OCCURRENCE_ATTRIBUTE } from '../../src/core/markup/page-images.js';
import { placeholderOf } from '../../src/core/markup/placeholder.js';


function createTurndown(): TurndownService {
  const service = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-', emDelimiter: '*' });
  service.use(tables);
  service.remove(['script', 'style', 'noscript', 'iframe', 'object', 'embed', 'svg', 'button', 'input', 'select', 'textarea', 'form'] as never);
  service.addRule('imagePlaceholder', {
    filter: 'img',
    replacement: (_content, node) => {
      const k = (node as HTMLElement).getAttribute(OCCURRENCE_ATTRIBUTE);
      return k !== null && /^\d+$/.test(k) ? ` ${placeholderOf(Number(k))} ` : '';
    },
  });
  service.addRule('linkText', { filter: 'a', replacement: (content) => content });
  return service;
}

const turndown = createTurndown();

// Tables the GFM plugin cannot express (block content in cells, code) it would keep as raw HTML;
// those become one block per cell instead, so their text and images reach the markdown.
const NON_GFM_CELL_CONTENT = 'ul, ol, h1, h2, h3, h4, h5, h6, hr, blockquote, code, pre, p, div, table';

function flattenComplexTables(root: Element): void {
  for (const table of [...root.querySelectorAll('table')].reverse()) {
    if (!table.querySelector(NON_GFM_CELL_CONTENT)) continue;
    const flat = table.ownerDocument.createElement('div');
    for (const cell of [...table.querySelectorAll('td, th, caption')]) {
      const block = table.ownerDocument.createElement('div');
      while (cell.firstChild) block.appendChild(cell.firstChild);
      flat.appendChild(block);
    }
    table.replaceWith(flat);
  }
}

/** Markdown of an element's content (complex tables in it are flattened in place first). */
export function elementToMarkdown(element: Element): string {
  flattenComplexTables(element);
  const markdown = turndown.turndown(element as unknown as HTMLElement);
  return markdown
    .replace(/[ \t]+\n/g, '\n')
    .replace(/^ (?=<IMAGE_PLACEHOLDER>)/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const BLOCK_TAGS = new Set([
  'ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'BR', 'DD', 'DIV', 'DL', 'DT', 'FIELDSET', 'FIGCAPTION', 'FIGURE', 'FOOTER',
  'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HEADER', 'HR', 'LI', 'MAIN', 'NAV', 'OL', 'P', 'PRE', 'SECTION', 'TABLE', 'TR', 'UL',
]);
const SKIPPED_TAGS = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'BUTTON', 'SELECT', 'TEXTAREA']);

/** Plain text of an element: blocks on their own lines, table cells separated by tabs, no images. */
export function elementToText(element: Element): string {
  const parts: string[] = [];
  const walk = (node: Node): void => {
    if (node.nodeType === 3) {
      parts.push((node.nodeValue ?? '').replace(/\s+/g, ' '));
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = (node as Element).tagName.toUpperCase();
    if (SKIPPED_TAGS.has(tag)) return;
    const block = BLOCK_TAGS.has(tag);
    if (block) parts.push('\n');
    else if (tag === 'TD' || tag === 'TH') parts.push('\t');
    for (let child = node.firstChild; child; child = child.nextSibling) walk(child);
    if (block) parts.push('\n');
  };
  walk(element);
  return parts
    .join('')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}

// The fallback extractor for pages Readability rejects or cuts short (lists, galleries, docs,
// indexes): drop page chrome (navigation, headers, footers, forms, asides), then walk down from
// <body> while a single child holds most of the non-link text and leaves out little: that child is
// the content region.
import { collapsedText, linkTextLength } from './prune.js';

const CHROME_SELECTOR = 'script, style, noscript, template, nav, header, footer, aside, form, iframe, [role="navigation"], [role="banner"], [role="contentinfo"], [aria-hidden="true"]';
const CHROME_ATTRIBUTE = /(^|[-_ ])(nav|navbar|menu|footer|sidebar|cookie|banner|masthead|skip|breadcrumbs?|comments?)([-_ ]|$)/i;
/** Descend into a child while it holds at least this share of the parent's non-link text… */
const DOMINANT_SHARE = 0.75;
/** …and what it leaves out is too little to be content of its own (a section of a list page). */
const LEFT_OUT_CHARS = 300;

function nonLinkText(element: Element): number {
  return Math.max(0, collapsedText(element).length - linkTextLength(element));
}

/** The content region of `document` after removing its chrome (the document is modified). */
export function densestRegion(document: Document): Element | undefined {
  const body = document.body ?? document.documentElement;
  if (!body) return undefined;
  for (const chrome of [...body.querySelectorAll(CHROME_SELECTOR)]) chrome.remove();
  for (const element of [...body.querySelectorAll('[class], [id]')]) {
    if (!element.isConnected || element.matches('img')) continue;
    const attributes = `${element.getAttribute('class') ?? ''} ${element.getAttribute('id') ?? ''}`;
    if (CHROME_ATTRIBUTE.test(attributes) && collapsedText(element).length < 2000) element.remove();
  }
  let region: Element = body;
  for (;;) {
    const total = nonLinkText(region);
    if (total === 0) break;
    const dominant = [...region.children].find((child) => nonLinkText(child) >= DOMINANT_SHARE * total);
    if (!dominant || total - nonLinkText(dominant) >= LEFT_OUT_CHARS) break;
    region = dominant;
  }
  return region;
}

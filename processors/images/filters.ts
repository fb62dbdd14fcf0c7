// Quality filters for images, M2RAG-style, each failure recorded as a reason. They read only stored
// fields (the Image's decoded size and bytes, each Occurrence's attributes and context), so
// thresholds can be changed and re-applied with `m2rag process --force` without recrawling.
import type { Image, ImageFilter, Occurrence } from '../../storage/index.js';

export interface FilterSettings {
  minPixels: number;
  maxPixels: number;
  minBytes: number;
  maxAspectRatio: number;
  /** Page images whose best layout score is below this are dropped as decoration. */
  minLayoutScore: number;
}

/** An occurrence as the filters see it: its stored record plus how many images its page has. */
export interface OccurrenceSignals {
  occurrence: Occurrence;
  pageImageCount?: number;
}

// `file` may lead an icon word: Wikipedia's file-type icons are `Fileicon-ogg.png` and the like.
const ICON_WORDS = /(?:^|[^a-z])(?:file[-_]?)?(icons?|logos?|buttons?|btn|sprites?|badges?|emoji|favicon|spinner|loader|loading|avatar|arrow|bullet|rating|social|share)(?:[^a-z]|$)/i;
const TRACKING_URL = /(?:^|[/_.?&=-])(pixel|beacon|track(?:ing)?|analytics|spacer|blank|transparent|clear)(?:[/_.?&=-]|\.gif|\.png|$)/i;
const ICON_SIDE = 64;
const TRACKING_SIDE = 2;
const BOILERPLATE_REGION = /(?:^|>)(header|nav|footer|aside)(?::|>|$)/;

function fileNameOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    return url;
  }
}

function declaredSide(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number.parseFloat(value);
  return Number.isFinite(n) && /^\s*\d+(\.\d+)?\s*(px)?\s*$/.test(value) ? n : undefined;
}

function wordsOf(text: string | undefined): string[] {
  return (text ?? '').toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [];
}

/** Why an occurrence looks like an icon, logo, button or sprite, or undefined when it does not. */
export function iconSignal(signals: OccurrenceSignals): string | undefined {
  const { attributes, url } = signals.occurrence;
  if (ICON_WORDS.test(attributes.class ?? '') || ICON_WORDS.test(attributes.id ?? '')) return 'icon-like:class';
  if (ICON_WORDS.test(fileNameOf(url))) return 'icon-like:src';
  if (ICON_WORDS.test(attributes.alt ?? '') && (attributes.alt ?? '').split(/\s+/).length <= 3) return 'icon-like:alt';
  const width = declaredSide(attributes.width);
  const height = declaredSide(attributes.height);
  if ((width !== undefined && width <= ICON_SIDE) || (height !== undefined && height <= ICON_SIDE)) return 'icon-like:declared-size';
  return undefined;
}

function isTrackingOccurrence(signals: OccurrenceSignals): boolean {
  const { attributes, url } = signals.occurrence;
  const width = declaredSide(attributes.width);
  const height = declaredSide(attributes.height);
  return (width !== undefined && width <= TRACKING_SIDE) || (height !== undefined && height <= TRACKING_SIDE) || TRACKING_URL.test(url);
}

/**
 * How much a page occurrence looks like content rather than decoration, about 0–10. Like crawl4ai's
 * score it weighs declared size, alt text, srcset, figure/picture and position on the page; unlike
 * it, it also weighs the caption, whether the image stands in the extracted main text, and how much
 * text surrounds it and shares its words.
 */
export function layoutScoreOf(signals: OccurrenceSignals): number {
  const { attributes, context, domPath, index } = signals.occurrence;
  let score = 0;
  const width = declaredSide(attributes.width);
  const height = declaredSide(attributes.height);
  if (width !== undefined && height !== undefined) {
    if (width >= 100 && height >= 100) score += 1.5;
    else if (width * height >= 10_000) score += 1;
    else if (width < 50 || height < 50) score -= 1;
  }
  const alt = attributes.alt?.trim() ?? '';
  if (alt.length >= 5 && !/\.(jpe?g|png|gif|webp|svg)$/i.test(alt)) score += 1;
  if (attributes.inFigure === 'true' || attributes.inPicture === 'true') score += 1;
  if (attributes.srcset || attributes.inPicture === 'true') score += 0.5;
  if (context?.figcaption) score += context.captionSource === 'adjacent-text' ? 1 : 1.5;
  if (domPath && BOILERPLATE_REGION.test(domPath)) score -= 2;
  if (signals.pageImageCount !== undefined && signals.pageImageCount > 1 && index < signals.pageImageCount / 2) score += 0.5;
  if (context?.inMainContent === true) score += 2;
  if (context?.inMainContent === false) score -= 2;
  const surrounding = [...wordsOf(context?.above).slice(-60), ...wordsOf(context?.below).slice(0, 60)];
  if (surrounding.length >= 40) score += 1;
  else if (surrounding.length >= 10) score += 0.5;
  const describing = new Set([...wordsOf(alt), ...wordsOf(context?.figcaption), ...wordsOf(fileNameOf(signals.occurrence.url).replace(/[_-]/g, ' '))]);
  if (describing.size > 0 && surrounding.some((word) => describing.has(word))) score += 1;
  return Math.round(score * 10) / 10;
}

/**
 * The filter verdict for one image over all its occurrences. Size, bytes and aspect ratio are
 * properties of the image; icon, tracking and layout signals belong to its uses, so an image is
 * dropped for them only when every page use points the same way. Auxiliary (image-search) uses have
 * no layout and count as content.
 */
export function filterImage(image: Image, occurrences: OccurrenceSignals[], settings: FilterSettings): ImageFilter {
  if (image.decodeError !== undefined) return { kept: false, reasons: [`decode-error: ${image.decodeError}`] };
  if (image.width === undefined || image.height === undefined) return { kept: false, reasons: ['not-decoded'] };
  const reasons: string[] = [];
  const pixels = image.width * image.height;
  const tracking = image.width <= TRACKING_SIDE || image.height <= TRACKING_SIDE;
  if (tracking) reasons.push('tracking-pixel');
  if (pixels < settings.minPixels) reasons.push(`too-few-pixels: ${pixels} < ${settings.minPixels}`);
  if (pixels > settings.maxPixels) reasons.push(`too-many-pixels: ${pixels} > ${settings.maxPixels}`);
  if (image.bytes < settings.minBytes) reasons.push(`too-small-file: ${image.bytes} < ${settings.minBytes} bytes`);
  const aspect = Math.max(image.width / image.height, image.height / image.width);
  if (aspect > settings.maxAspectRatio) reasons.push(`aspect-ratio: ${aspect.toFixed(1)} > ${settings.maxAspectRatio}`);

  const pageUses = occurrences.filter((o) => o.occurrence.kind === 'page');
  const hasAuxiliaryUse = pageUses.length < occurrences.length;
  let layoutScore: number | undefined;
  if (pageUses.length > 0 && !hasAuxiliaryUse) {
    if (!tracking && pageUses.every(isTrackingOccurrence)) reasons.push('tracking-pixel');
    const icons = pageUses.map(iconSignal);
    if (icons.every((signal) => signal !== undefined)) reasons.push(icons[0]!);
    layoutScore = Math.max(...pageUses.map(layoutScoreOf));
    if (layoutScore < settings.minLayoutScore) reasons.push(`low-layout-score: ${layoutScore} < ${settings.minLayoutScore}`);
  } else if (pageUses.length > 0) {
    layoutScore = Math.max(...pageUses.map(layoutScoreOf));
  }
  return { kept: reasons.length === 0, reasons, ...(layoutScore !== undefined ? { layoutScore } : {}) };
}

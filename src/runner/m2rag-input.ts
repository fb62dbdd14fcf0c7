// The M2RAG generation input of one query, as the reference builds it (src/summarizer/base.py
// filter_webpage_pieces, multi_modal/end_to_end.py filter_images_and_reorganize_webpages): only the
// query's own pages, their splits the score stage kept, in page order; then the reference's caps
// (config run.*): splits at or above minPieceScore, the top maxPiecesPerSample of a page (back in page
// order), the top maxPieces overall; page images whose split survived, scored in
// [minImageScore, maxImageScore), the top maxImagesPerSample of a page, the top maxAuxImages
// auxiliary images, the top maxImages of all. Each page's text then keeps a placeholder only where a
// kept image stands; the images are numbered globally, page images in text order, then auxiliary ones.
import type { Config } from '../core/config.js';
import { PLACEHOLDER_PATTERN } from '../core/markup/placeholder.js';
import { extOfMime } from '../../storage/export/m2rag.js';
import { loadQueryElements, occurrenceIdOf, scoreIdOf, type CorpusStore, type Description, type Image, type Query } from '../../storage/index.js';

/** The plain marker an image keeps in a page's text once its index is resolved (the reference's `<IMAGE_PLACEHOLDER>`). */
export const IMAGE_SLOT = '<IMAGE_PLACEHOLDER>';

export interface InputImage {
  image: Image;
  imageId: string;
  ext: string;
  /** The image's detailed caption (its best description), on one line. */
  caption: string;
  finalScore: number;
  aux: boolean;
}

export interface InputPage {
  pageId: string;
  title: string;
  url: string;
  /** The kept splits joined, with one IMAGE_SLOT per entry of `images`, in order. */
  content: string;
  images: InputImage[];
  chunkIds: string[];
}

export interface M2ragInput {
  question: string;
  pages: InputPage[];
  auxImages: InputImage[];
  /** Every input image in prompt order: index k is `images/k.ext`. */
  images: InputImage[];
  chunkIds: string[];
  /** What was left out, by reason. */
  setAside: Record<string, number>;
}

export type InputCaps = Pick<
  Config['run'],
  'minPieceScore' | 'maxPiecesPerSample' | 'maxPieces' | 'minImageScore' | 'maxImageScore' | 'maxImagesPerSample' | 'maxAuxImages' | 'maxImages'
>;

/** A split the score stage kept, and the page images whose placeholders it holds (by k). */
export interface CandidateSplit {
  chunkId: string;
  text: string;
  score: number;
}

export interface CandidatePage {
  pageId: string;
  title: string;
  url: string;
  splits: CandidateSplit[];
  /** Kept page images by their placeholder index k, with the split they stand in. */
  images: Map<number, { chunkId: string; image: InputImage }>;
}

/** The top `cap` by score (a stable sort, as Python's), or all when cap ≤ 0. */
function topByScore<T>(items: T[], score: (item: T) => number, cap: number): Set<T> {
  if (cap <= 0) return new Set(items);
  return new Set([...items].sort((a, b) => score(b) - score(a)).slice(0, cap));
}

function bump(counts: Record<string, number>, key: string, n = 1): void {
  if (n > 0) counts[key] = (counts[key] ?? 0) + n;
}

/** Splits joined; a line break between two where the first does not end in whitespace (our splits are trimmed). */
function joinSplits(splits: CandidateSplit[]): string {
  return splits.reduce((text, split) => (text === '' || /\s$/.test(text) ? text + split.text : `${text}\n${split.text}`), '');
}

/** The reference's selection over candidate pages and auxiliary images (see the header). */
export function selectInput(question: string, candidates: CandidatePage[], aux: InputImage[], caps: InputCaps): M2ragInput {
  const setAside: Record<string, number> = {};
  // Splits: threshold, then the top of each page, then the top overall.
  let pages = candidates.map((page) => {
    const above = page.splits.filter((s) => s.score >= caps.minPieceScore);
    bump(setAside, 'split-below-min-piece-score', page.splits.length - above.length);
    const top = topByScore(above, (s) => s.score, caps.maxPiecesPerSample);
    bump(setAside, 'split-over-page-cap', above.length - top.size);
    return { page, splits: above.filter((s) => top.has(s)) };
  });
  if (caps.maxPieces > 0) {
    const all = pages.flatMap((p) => p.splits);
    const top = topByScore(all, (s) => s.score, caps.maxPieces);
    bump(setAside, 'split-over-overall-cap', all.length - top.size);
    pages = pages.map((p) => ({ ...p, splits: p.splits.filter((s) => top.has(s)) }));
  }
  pages = pages.filter((p) => p.splits.length > 0);

  // Images: those whose split survived, in score range, the top of each page; auxiliary ones; the top overall.
  const inRange = (image: InputImage): boolean => image.finalScore >= caps.minImageScore && image.finalScore < caps.maxImageScore;
  const pageImages = pages.map(({ page, splits }) => {
    const kept = new Set(splits.map((s) => s.chunkId));
    const onKept = [...page.images].filter(([, v]) => kept.has(v.chunkId));
    const ranged = onKept.filter(([, v]) => inRange(v.image));
    bump(setAside, 'image-out-of-score-range', onKept.length - ranged.length);
    const top = topByScore(ranged, ([, v]) => v.image.finalScore, caps.maxImagesPerSample);
    bump(setAside, 'image-over-page-cap', ranged.length - top.size);
    return new Map(ranged.filter((entry) => top.has(entry)).sort(([a], [b]) => a - b).map(([k, v]) => [k, v.image]));
  });
  const auxRanged = aux.filter(inRange);
  bump(setAside, 'aux-image-out-of-score-range', aux.length - auxRanged.length);
  // Unlike the other caps, 0 keeps no auxiliary image; only a negative cap keeps all.
  const auxTop = new Set([...auxRanged].sort((a, b) => b.finalScore - a.finalScore).slice(0, caps.maxAuxImages < 0 ? undefined : caps.maxAuxImages));
  let auxKept = auxRanged.filter((i) => auxTop.has(i));
  bump(setAside, 'aux-image-over-cap', auxRanged.length - auxKept.length);
  const everyImage = [...pageImages.flatMap((m) => [...m.values()]), ...auxKept];
  const overall = topByScore(everyImage, (i) => i.finalScore, caps.maxImages);
  bump(setAside, 'image-over-overall-cap', everyImage.length - overall.size);
  auxKept = auxKept.filter((i) => overall.has(i));

  // Reorganize: one slot per kept image where its placeholder stands; every other placeholder goes.
  const inputPages: InputPage[] = pages.map(({ page, splits }, p) => {
    const reserved = pageImages[p]!;
    const images: InputImage[] = [];
    const content = joinSplits(splits).replace(PLACEHOLDER_PATTERN, (_m, digits: string) => {
      const image = reserved.get(Number(digits));
      if (!image || !overall.has(image) || images.includes(image)) return '';
      images.push(image);
      return IMAGE_SLOT;
    });
    return { pageId: page.pageId, title: page.title, url: page.url, content, images, chunkIds: splits.map((s) => s.chunkId) };
  });
  return {
    question,
    pages: inputPages,
    auxImages: auxKept,
    images: [...inputPages.flatMap((p) => p.images), ...auxKept],
    chunkIds: inputPages.flatMap((p) => p.chunkIds),
    setAside,
  };
}

/** The query's pages in search order (the rank of the web hit each page came from), then by id. */
async function pageRanks(store: CorpusStore, queryId: string): Promise<Map<string, number>> {
  const ranks = new Map<string, number>();
  for (const hit of await store.getMany('hits', await store.related('query-hits', queryId))) {
    if (hit?.kind === 'web' && hit.pageId && !ranks.has(hit.pageId)) ranks.set(hit.pageId, hit.rank);
  }
  return ranks;
}

/** The query's candidates from the store: its own pages, the splits and images the score stage kept. */
export async function loadM2ragInput(store: CorpusStore, query: Query, descriptions: Map<string, Description[]>, caps: InputCaps): Promise<M2ragInput> {
  const elements = await loadQueryElements(store, query, descriptions);
  const chunkScores = await store.getMany('scores', elements.chunks.map((c) => scoreIdOf(query.id, 'chunk', c.id)));
  const imageScores = await store.getMany('scores', elements.images.map((e) => scoreIdOf(query.id, 'image', e.image.id)));
  const setAside: Record<string, number> = {};
  const keptImages = new Map<string, { pageId?: string; image: InputImage }>();
  elements.images.forEach((element, i) => {
    const score = imageScores[i];
    if (!score?.kept || score.finalScore === undefined) return bump(setAside, 'image-not-kept-by-score');
    if (!element.description?.text) bump(setAside, 'image-without-description');
    const caption = (element.description?.text ?? '').replace(/\n/g, ' ');
    const image: InputImage = { image: element.image, imageId: element.image.id, ext: extOfMime(element.image.mime), caption, finalScore: score.finalScore, aux: element.pageId === undefined };
    keptImages.set(element.image.id, { pageId: element.pageId, image });
  });
  const ranks = await pageRanks(store, query.id);
  const pages = [...elements.pages].sort((a, b) => (ranks.get(a.id) ?? Infinity) - (ranks.get(b.id) ?? Infinity) || a.id.localeCompare(b.id));
  const occurrenceImage = new Map(elements.images.flatMap((e) => e.occurrences.map((o) => [o.id, e.image.id] as const)));
  const candidates: CandidatePage[] = pages.map((page) => {
    const splits: CandidateSplit[] = [];
    const images = new Map<number, { chunkId: string; image: InputImage }>();
    elements.chunks.forEach((chunk, i) => {
      if (chunk.pageId !== page.id) return;
      const score = chunkScores[i];
      if (!score?.kept || score.finalScore === undefined) return bump(setAside, 'split-not-kept-by-score');
      splits.push({ chunkId: chunk.id, text: chunk.text, score: score.finalScore });
      for (const match of chunk.text.matchAll(PLACEHOLDER_PATTERN)) {
        const k = Number(match[1]);
        const kept = keptImages.get(occurrenceImage.get(occurrenceIdOf(page.id, k)) ?? '');
        // An image is placed on the page it was scored under, where its placeholder stands.
        if (kept && kept.pageId === page.id && !images.has(k)) images.set(k, { chunkId: chunk.id, image: kept.image });
      }
    });
    return { pageId: page.id, title: page.title ?? '', url: page.finalUrl, splits, images };
  });
  const aux = [...keptImages.values()].filter((k) => k.pageId === undefined).map((k) => k.image);
  const input = selectInput(query.query, candidates, aux, caps);
  for (const [reason, n] of Object.entries({ ...elements.setAside, ...setAside })) bump(input.setAside, reason, n);
  return input;
}

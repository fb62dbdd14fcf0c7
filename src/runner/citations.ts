// Image citations in generated answers. The prompt numbers the candidate images 1..M and the model
// cites them as `![short caption](images/k.ext)`. Post-processing keeps the first citation of each
// valid index, removes citations of indexes that do not exist and repeats (counting both), and
// renders each kept citation as a figure block: the image on its own paragraph with a numbered
// caption line under it.

export interface ImageRef {
  imageId: string;
  /** File extension used in the answer and in exports (from the image's mime type). */
  ext: string;
}

export interface PostProcessed {
  text: string;
  /** 1-based prompt indexes of the images cited, in order of first citation. */
  cited: number[];
  outOfRange: number;
  repeated: number;
}

const REMOVED = '\u0000';
const BLOCK = '\u0001';
const CITATION = /!\[([^\]]*)\]\(\s*(?:\.\/)?images\/(\d+)(?:\.[A-Za-z0-9]+)?\s*\)/g;

export function imagePath(index: number, ref: ImageRef): string {
  return `images/${index}.${ref.ext}`;
}

export function figureBlock(index: number, figureNumber: number, ref: ImageRef, caption: string): string {
  const clean = caption.replace(/\s+/g, ' ').trim() || `Image ${index}`;
  return `\n\n![${clean}](${imagePath(index, ref)})\n*Figure ${figureNumber}: ${clean}*\n\n`;
}

/** The figure block of an image the generator placed itself, captioned from its description (or page context). */
export function figureOf(index: number, figureNumber: number, image: ImageRef & { description: string; context: string }): string {
  return figureBlock(index, figureNumber, image, shortCaption(image.description || image.context));
}

/** The first sentence of a text, cut to `words` words. */
function shortCaption(text: string, words = 12): string {
  const firstSentence = text.split(/(?<=[.!?])\s/)[0] ?? text;
  const list = firstSentence.replace(/\s+/g, ' ').trim().split(' ');
  return list.length > words ? list.slice(0, words).join(' ') + '…' : list.join(' ');
}

export function postProcessAnswer(answer: string, images: ImageRef[]): PostProcessed {
  const cited: number[] = [];
  let outOfRange = 0;
  let repeated = 0;
  const text = answer.replace(CITATION, (_match, caption: string, digits: string) => {
    const index = Number(digits);
    if (!Number.isInteger(index) || index < 1 || index > images.length) {
      outOfRange++;
      return REMOVED;
    }
    if (cited.includes(index)) {
      repeated++;
      return REMOVED;
    }
    cited.push(index);
    return BLOCK + figureBlock(index, cited.length, images[index - 1]!, caption) + BLOCK;
  });
  // Only the spaces next to a removed citation or a figure block go; the answer's own indentation stays.
  const joined = text.replace(/[ \t]*(?:\u0000[ \t]*)+/g, ' ').replace(/[ \t]*\u0001[ \t]*/g, '');
  return { text: tidy(joined), cited, outOfRange, repeated };
}

/** Collapses the blank lines and trailing spaces that removed or moved citations leave behind. */
export function tidy(text: string): string {
  return text
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * The reference's `unwrap_markdown`: the text inside a ```markdown fence when the reply has one; the
 * closing fence counts only in the reply's second half.
 */
export function unwrapMarkdown(text: string): string {
  const start = text.indexOf('```markdown');
  if (start === -1) return text;
  const fromEnd = [...text].reverse().join('').indexOf('```');
  const end = fromEnd === -1 || fromEnd > 0.5 * text.length ? text.length : text.length - (fromEnd + 3);
  return text.slice(start + 11, end).trim();
}

/** The reference's image citation rule: `![caption](…k…)`, k the first digits inside the parentheses. */
const M2RAG_CITATION = /!\[(.*?)\]\((.*?)(\d+)(.*?)\)/g;

/**
 * The reference's `handle_output_images` over 0-based prompt indexes: a citation whose k is an input
 * image not cited before becomes a figure block; any other is removed. The stored answer numbers its
 * figures' paths 1-based into the generation's input images, as every stored answer does.
 */
export function handleOutputImages(answer: string, images: ImageRef[]): PostProcessed {
  const cited: number[] = [];
  let outOfRange = 0;
  let repeated = 0;
  const text = answer.replace(M2RAG_CITATION, (_match, caption: string, _before: string, digits: string) => {
    const index = Number(digits);
    if (index >= images.length) {
      outOfRange++;
      return REMOVED;
    }
    if (cited.includes(index + 1)) {
      repeated++;
      return REMOVED;
    }
    cited.push(index + 1);
    return BLOCK + figureBlock(index + 1, cited.length, images[index]!, caption) + BLOCK;
  });
  const joined = text.replace(/[ \t]*(?:\u0000[ \t]*)+/g, ' ').replace(/[ \t]*\u0001[ \t]*/g, '');
  return { text: tidy(joined), cited, outOfRange, repeated };
}

/** The reference's `delete_images_from_text` then `delete_links_from_text`: markup replaced by its bracketed text. */
export function withoutImagesAndLinks(text: string): string {
  return text.replace(/!\[(.*?)\]\((.*?)\)/g, '$1').replace(/\[(.*?)\]\((.*?)\)/g, '$1');
}

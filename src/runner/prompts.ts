// The generation prompts, as named templates (src/core/prompts.ts) with our own wording. The
// structure is the M2RAG reference's (src/summarizer/multi_modal/end_to_end.py): the same inputs,
// sections and output formats, so a prompts file can swap in the reference's exact wording.
//   generate.single         LLM, one prompt; images are `![detailed caption](images/k.ext)` in the pages
//   generate.mllm           vision model, one prompt; each image itself stands where its caption would
//   generate.multi-stage-1  text answer that may use what the captions say, without embedding images
//   generate.multi-stage-2  per image: a short caption line, then the summary line index to put it before, or -1
//   generate.multi-stage-3  the summary piece after a placed image, refined to refer to it
//   generate.ragvl          RagVL: retrieved passages and reranked images, images cited as images/k.ext
//   generate.text           the text-only baseline
// The page blocks (`## Webpage k` with a markdown code block), the `# Auxiliary Images` section and
// the closing `# Generated Document` line are built by the code after a header's `# Webpages` line.
import { definePrompt } from '../core/prompts.js';

const PAGES_LLM = `2. **Webpages**: the pages, each under a heading "## Webpage k" (k counts from 0) and inside a markdown code block. An image on a page appears as
    \`\`\`markdown
    ![DETAILED_IMAGE_CAPTION](IMAGE_URL)
    \`\`\`
    - *DETAILED_IMAGE_CAPTION*: what the image shows.
    - *IMAGE_URL*: the image's address; copy it unchanged if you use the image.
3. **Auxiliary Images**: more images, written the same way.`;

const PAGES_VLM = `2. **Webpages**: the pages, each under a heading "## Webpage k" (k counts from 0) and inside a markdown code block. An image on a page appears as
    \`\`\`markdown
    ![IMAGE_TOKENS](IMAGE_URL)
    \`\`\`
    - *IMAGE_TOKENS*: the image itself.
    - *IMAGE_URL*: the image's address; copy it unchanged if you use the image.
3. **Auxiliary Images**: more images, written the same way.`;

const IMAGE_RULES = `3. **Images**:
    - Put the images that help into the document, each on a line of its own, as
        \`\`\`markdown
        ![IMAGE_CAPTION](IMAGE_URL)
        \`\`\`
        - *IMAGE_CAPTION*: a short caption of your own.
        - *IMAGE_URL*: exactly the address given with the image.
    - For instance:
        \`\`\`markdown
        ![A diagram of ...](images/0.jpeg)
        \`\`\`
4. **Only helpful images**: use an image only when it bears directly on the question and adds to the text, and make the text mention or build on it.`;

function singleStage(about: string, pages: string): string {
  return `# Task
You answer questions with text and images. Write an answer to the user's question from the web pages below, which come from a search and carry ${about}; the answer is one document that mixes text and images.

# What you are given
1. **Question**: what the user asked; the document must answer it.
${pages}

# How to write it
1. **Read the question**: work out which parts of the pages answer it.
2. **Text**: write one coherent markdown document that answers the question fully.
${IMAGE_RULES}

# Take care
1. Reply in markdown, so the answer can be parsed.
2. Quote the pages' authoritative wording where it helps, but summarize, and leave out what does not bear on the question.
3. Keep to the image format exactly: each image alone on its line, with nothing else on that line.

# Question
{{question}}

# Webpages
`;
}

export const SINGLE_STAGE_PROMPT = definePrompt('generate.single', 'generate.single@1', singleStage('text and detailed image captions', PAGES_LLM));
export const MLLM_PROMPT = definePrompt('generate.mllm', 'generate.mllm@1', singleStage('text and images', PAGES_VLM));

export const MULTI_STAGE_1_PROMPT = definePrompt(
  'generate.multi-stage-1',
  'generate.multi-stage-1@1',
  `# Task
You answer questions from web pages. Write a text answer to the user's question from the web pages below, which come from a search and carry text and detailed image captions.

# What you are given
1. **Question**: what the user asked; the answer must address it.
${PAGES_LLM.replace("copy it unchanged if you use the image", "for reference only")}

# How to write it
1. **Read the question**: work out which parts of the pages answer it.
2. **Text**: write one coherent markdown document that answers the question fully.
3. **Images**: use what the captions of relevant images tell you in the text, but do not embed any image; write no ![IMAGE_CAPTION](IMAGE_URL) markup.

# Take care
1. Reply in markdown, so the answer can be parsed.
2. Quote the pages' authoritative wording where it helps, but summarize, and leave out what does not bear on the question.

# Question
{{question}}

# Webpages
`,
);

export const MULTI_STAGE_2_PROMPT = definePrompt(
  'generate.multi-stage-2',
  'generate.multi-stage-2@1',
  `# Task
You place images in answers. Decide where in a text answer one image would help the reader most.

# What you are given
1. **Question**: what the user asked; the answer addresses it.
2. **Answer lines**: the answer, one line each, numbered from [0].
3. **Image caption**: a detailed description of the image.

# How to decide
1. **Read**: the answer and the image caption, closely.
2. **Place**: find where the image adds most. If it belongs in the answer, write a short caption for it and give the number of the line it should stand before.
3. **Check**: the image must bear directly on the line it stands before, and the lines above must not already cover it.

# Reply format
- Line 1: a short caption for the image, plain text, no labels.
- Line 2: the number of the answer line the image goes before, or -1 if it fits nowhere.

# Question
{{question}}

# Answer lines
\`\`\`markdown
{{summaryLines}}
\`\`\`

# Image caption
{{caption}}
# Your Output`,
);

export const MULTI_STAGE_3_PROMPT = definePrompt(
  'generate.multi-stage-3',
  'generate.multi-stage-3@1',
  `# Task
You polish text. You get a user's question, a piece of a text answer to it, and the detailed caption of an image that will stand just before that piece in the final answer. Rewrite the piece so that it goes well with the image.

# Rules
1. Reply in markdown.
2. Keep the piece's meaning and facts, and work in references or links to the image naturally.
3. Refer to what the image shows in words; do not embed it with markup such as ![IMAGE_CAPTION](IMAGE_URL).
4. The piece is part of a longer answer: refine it in place, keep its structure, and do not turn it into a document of its own.
5. Let the language flow, tying the image and the text together logically.
6. Reply with the refined piece only: no comments, explanations or reasoning. If you cannot do it, reply "I can't ...".

# Question
{{question}}

# Answer piece
\`\`\`markdown
{{summaryPiece}}
\`\`\`

# Image caption
{{caption}}
# Your Output`,
);

export const RAGVL_PROMPT = definePrompt(
  'generate.ragvl',
  'generate.ragvl@1',
  `Answer the question using the web page passages and the images below. Write a clear, well-organized markdown answer.
Where an image helps the reader, insert it on its own line as ![short caption](images/k.ext), with k the image number from the list.
Use each image at most once, only images from the list, and only where it fits the text next to it.

Question: {{question}}

Passages:
{{passages}}

Images:
{{images}}`,
);

export const TEXT_PROMPT = definePrompt(
  'generate.text',
  'generate.text@1',
  `Answer the question using the web page passages below. Write a clear, well-organized markdown answer of a few paragraphs.

Question: {{question}}

Passages:
{{passages}}`,
);

// The RagVL reranker's two templates (the reference's with-caption and caption-agnostic queries): the
// image goes first, then the text; the reply is read from the first token's Yes/No log-probabilities.
export const RERANK_CAPTION_PROMPT = definePrompt(
  'rerank.caption',
  'rerank.caption@1',
  `Caption of the image: {{caption}}
Question: {{question}}
Taking the image and its caption together, would it help answer the question? Reply with Yes or No.`,
);

export const RERANK_NO_CAPTION_PROMPT = definePrompt(
  'rerank.no-caption',
  'rerank.no-caption@1',
  `Question: {{question}}
Would this image help answer the question? Reply with Yes or No.`,
);

// RagVL's short-answer generation (`ragvl-short`): the reranked images, then the question with an
// instruction to answer briefly, as WebQA and MultimodalQA answers are scored word by word.
export const SHORT_ANSWER_PROMPT = definePrompt(
  'generate.short-answer',
  'generate.short-answer@1',
  `{{question}}
Reply with just a word or a short phrase.`,
);

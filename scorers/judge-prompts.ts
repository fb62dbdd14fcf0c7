// The judge prompts of the M2RAG evaluation, as named templates (src/core/prompts.ts) in our own
// wording. Their structure is the reference's (maziao/M2RAG src/evaluator/few_shot_evaluator.py):
// the same inputs under the same names (`text`, `query`, `context_above`, `context_below`), the same
// bands (text: 0, 1-3, 4-6, 7-9, 10; coherence and helpfulness: 0-3, 4-6, 7-9, 10 with three worked
// examples each; reference: 0, 1-3, 4-6, 7-9, 10 with three examples each), the image at a literal
// `<IMAGE_PLACEHOLDER>` line, and the same reply: a short justification, then the integer score, of
// which the last integer is read. Context precision and faithfulness follow the ragas algorithms
// (a 0/1 verdict per context; statements decomposed, then a 0/1 verdict per statement), with JSON
// replies of ragas' shapes. A prompts file may replace any text, e.g. with the reference's exact
// wording (write its `{name}` inputs as `{{name}}`).
import { definePrompt } from '../src/core/prompts.js';

/** Where the image goes in an image-metric prompt; the text is split there and the image sent between. */
export const IMAGE_MARKER = '<IMAGE_PLACEHOLDER>';

const REPLY_RULE = `# How to reply
Reply with exactly two lines:
1. One or two sentences explaining the score.
2. The score, as a whole number and nothing else.

Write nothing beyond these two lines.`;

export const FLUENCY_PROMPT = definePrompt(
  'eval.fluency',
  'm2rag-eval-fluency-v1',
  `# Your task
You review documents written in markdown. Judge how fluent the document below is: does it read smoothly, follow a logical order, and use markdown correctly?

# Document
\`\`\`markdown
{{text}}
\`\`\`

# Scale
Give a score from 0 to 10:
- **0:** Hard to follow, with no logical order, and the markdown is badly broken.
- **1-3:** Some passages read well, but the logic is patchy and markdown mistakes are frequent (repeated headings, broken lists or tables).
- **4-6:** Mostly readable, with a few slips in grammar or logic; the markdown structure is uneven or has redundant sections.
- **7-9:** Clear and logical, with sound markdown; the document holds together with only small blemishes.
- **10:** Flawless: it reads naturally from start to finish and its markdown is clean throughout.

Be strict; reserve high scores for documents that earn them.

${REPLY_RULE}
`,
);

export const RELEVANCE_PROMPT = definePrompt(
  'eval.response-relevancy',
  'm2rag-eval-relevancy-v1',
  `# Your task
You review documents written in markdown. Judge how relevant the document below is to the user's query.

# Query
{{query}}

# Document
\`\`\`markdown
{{text}}
\`\`\`

# Scale
Give a score from 0 to 10:
- **0:** Nothing in the document concerns the query.
- **1-3:** Touches the query, but most of the document is about something else.
- **4-6:** Part of the document addresses the query; there are clear digressions.
- **7-9:** Nearly all of the document addresses the query, with only slight digressions.
- **10:** Every part of the document serves the query.

Be strict; reserve high scores for documents that earn them.

${REPLY_RULE}
`,
);

const IMAGE_INPUTS = `# Text above the image
\`\`\`markdown
{{context_above}}
\`\`\`

# The image
${IMAGE_MARKER}

# Text below the image
\`\`\`markdown
{{context_below}}
\`\`\``;

export const IMAGE_COHERENCE_PROMPT = definePrompt(
  'eval.image-coherence',
  'm2rag-eval-image-coherence-v1',
  `# Your task
You review multimodal documents. You are given one image from a markdown document together with the text just above and just below it. Judge how coherent the image is with that text.

${IMAGE_INPUTS}

# Scale, with examples
Give a score from 0 to 10; the better the image fits the text around it, the higher the score.

- **Score 0-3**: the image and the text have little or nothing to do with each other.
  - *Example 1*: A photo of a garden hose beside a paragraph on interest rates. Nothing connects them: 0-3.
  - *Example 2*: A picture of a sailing yacht next to text on the fuel economy of container ships. Both involve boats, yet the picture says nothing about fuel economy: 0-3.
  - *Example 3*: A cartoon cat beside a section on the causes of the First World War. There is no link at all: 0-3.

- **Score 4-6**: some connection, mixed with unrelated content.
  - *Example 1*: A kitchen with an oven, while the text compares baking temperatures for bread. The oven fits, but the comparison itself is not shown: 4-6.
  - *Example 2*: A stadium crowd beside text on how ticket prices are set. The setting matches the topic, not the point being made: 4-6.
  - *Example 3*: A forest landscape next to a passage on carbon credit markets. The theme overlaps only loosely: 4-6.

- **Score 7-9**: the image matches the text closely.
  - *Example 1*: A photo of a specific espresso machine beside a review of its features. The image shows what the text describes: 7-9.
  - *Example 2*: A bar chart of rainfall by month beside text on a region's wet season. The chart supports the discussion directly: 7-9.
  - *Example 3*: A labelled photo of a bicycle drivetrain next to text on choosing gear ratios. The image and text clearly go together: 7-9.

- **Score 10**: the image and the text fit each other completely, and the image adds to it.
  - *Example 1*: A cut-away diagram of a jet engine beside a step-by-step account of how it produces thrust. Each step can be followed in the image: 10.
  - *Example 2*: A map of a hiking route beside directions for walking that route. The map is exactly what the text needs: 10.
  - *Example 3*: A photo of the painting under discussion beside an analysis of its composition. The image is the subject of the text: 10.

**Note**: the image needs to fit the text above OR the text below; it need not fit both. Judge strictly and objectively.

${REPLY_RULE}
`,
);

export const IMAGE_HELPFULNESS_PROMPT = definePrompt(
  'eval.image-helpfulness',
  'm2rag-eval-image-helpfulness-v1',
  `# Your task
You review multimodal documents. You are given one image from a markdown document together with the text just above and just below it. Judge how much the image helps a reader understand that text.

${IMAGE_INPUTS}

# Scale, with examples
Give a score from 0 to 10; the more the image helps a reader understand the text, the higher the score.

- **Score 0-3**: the image gives little or no help.
  - *Example 1*: A stock photo of a handshake beside instructions for filing a tax return. The reader learns nothing from it: 0-3.
  - *Example 2*: A picture of coins beside a detailed explanation of how bond yields are calculated. Money is the theme, but the calculation is no clearer: 0-3.
  - *Example 3*: A blurred street scene next to text on the history of jazz recordings. It adds no understanding: 0-3.

- **Score 4-6**: some help, along with distracting or less useful detail.
  - *Example 1*: A person typing on a phone beside text on how messaging apps encrypt data. Related in theme, but the encryption is not explained by it: 4-6.
  - *Example 2*: A photo of a solar farm beside text on how inverters convert current. It sets the scene without showing the inverter's role: 4-6.
  - *Example 3*: A classroom photo beside a discussion of teaching methods for mathematics. It illustrates the setting, not the methods: 4-6.

- **Score 7-9**: the image helps the reader a good deal.
  - *Example 1*: A table of smartphone screen sizes and battery capacities beside text comparing those phones. The reader can check the comparison at a glance: 7-9.
  - *Example 2*: A photo of the knot being described, tied, beside instructions for tying it. It makes the instructions much easier to follow: 7-9.
  - *Example 3*: A timeline graphic of a company's product launches beside a history of that company. It helps the reader place the events: 7-9.

- **Score 10**: the image makes the text fully clear.
  - *Example 1*: A diagram of the water cycle with each stage labelled beside an explanation of the water cycle. Together they leave nothing unclear: 10.
  - *Example 2*: A wiring diagram beside instructions for connecting a light switch. The reader needs exactly this picture: 10.
  - *Example 3*: A floor plan beside a description of how the rooms of a house connect. The plan resolves every detail of the description: 10.

**Note**: the image needs to help with the text above OR the text below; it need not help with both. Judge strictly and objectively.

${REPLY_RULE}
`,
);

export const IMAGE_REFERENCE_PROMPT = definePrompt(
  'eval.image-reference',
  'm2rag-eval-image-reference-v1',
  `# Your task
You check the quality of multimodal documents. You are given one image from a markdown document together with the text just above and just below it. Judge whether, and how well, that text refers to or explains the image.

${IMAGE_INPUTS}

# Scale, with examples
Give a score from 0 to 10 for how well the surrounding text refers to or explains the image:

- **Score 0**: the text never mentions or refers to the image.
  - *Example 1*: The image is there, but neither the text above nor the text below acknowledges it.
  - *Example 2*: The image shows a lighthouse, while the text is entirely about payroll software and never touches on it.
  - *Example 3*: The image shows a bowl of soup, while the text discusses railway timetables with no reference to it.

- **Score 1-3**: the reference is implicit, and vague, misplaced or wrong.
  - *Example 1*: The text describes the parts of a steam locomotive that the image happens to show, but never points to the image; the link is weak: 1-3.
  - *Example 2*: The text speaks of "modern kitchen gadgets" and the image shows a blender; the image itself is never brought in: 1-3.
  - *Example 3*: The text is about ocean exploration in general and the image shows one specific submarine; the connection is only implied: 1-3.

- **Score 4-6**: the image is referred to, implicitly or explicitly, but not quite properly, or only partly to the point.
  - *Example 1*: The text says "as pictured" but then discusses a different model than the one in the photo: 4-6.
  - *Example 2*: The image shows a bridge, and the text uses it to introduce a point about teamwork that it only half supports: 4-6.
  - *Example 3*: The image is a weather map, and the text mentions it in passing while discussing a different day's forecast: 4-6.

- **Score 7-9**: the image is referred to explicitly, properly and correctly, if a little stiffly.
  - *Example 1*: The text says "the photo above shows the assembled shelf" at a fitting point; accurate, though abrupt: 7-9.
  - *Example 2*: The text names the chart and reads one figure off it correctly; the wording is slightly mechanical: 7-9.
  - *Example 3*: The text points to the map while describing the route, correctly, with room for a smoother link: 7-9.

- **Score 10**: the image is referred to explicitly, accurately and at exactly the right place.
  - *Example 1*: The text introduces the diagram and walks through each labelled part in it, right where it appears: 10.
  - *Example 2*: The text explains what the photo shows and why it matters to the argument, at the point where it is shown: 10.
  - *Example 3*: The text refers to the image by what it depicts and draws the correct conclusion from it, in the right place: 10.

**Note**: the image only needs to be referred to or explained by the text above OR the text below, not both. Judge strictly and objectively.

${REPLY_RULE}
`,
);

export const CONTEXT_USEFUL_PROMPT = definePrompt(
  'eval.context-precision-verdict',
  'm2rag-eval-context-verdict-v1',
  `Decide whether the context below was useful for arriving at the given answer to the question. Reply with JSON only, in the form {"reason": "<one sentence>", "verdict": 1} when it was useful, or the same with "verdict": 0 when it was not.

Question: {{question}}

Context:
"""
{{context}}
"""

Answer:
"""
{{answer}}
"""
`,
);

export const STATEMENTS_PROMPT = definePrompt(
  'eval.faithfulness-statements',
  'm2rag-eval-statements-v1',
  `Break the answer below into statements. Take each sentence of the answer and rewrite it as one or more short statements that can each be understood on their own; replace every pronoun with what it refers to. Reply with JSON only, in the form {"statements": ["<statement>", ...]}.

Question: {{question}}

Answer:
"""
{{answer}}
"""
`,
);

export const STATEMENT_VERDICTS_PROMPT = definePrompt(
  'eval.faithfulness-verdicts',
  'm2rag-eval-statement-verdicts-v1',
  `For each numbered statement, decide whether it can be inferred directly from the context: verdict 1 if it can, 0 if it cannot. Reply with JSON only, in the form {"statements": [{"statement": "<the statement, word for word>", "reason": "<one sentence>", "verdict": 0 or 1}, ...]}, one entry per statement, in the given order.

Context:
"""
{{context}}
"""

Statements:
{{statements}}
`,
);

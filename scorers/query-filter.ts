// Query intake, as the M2RAG reference's question filter (src/question_filter/question_filter.py)
// decides it: three questions asked of an LLM in turn — is this a real question that needs rich
// references (0/1); if so, would images help its answer (0/1); if so, which of the 10 categories
// (or 11, Others). Each prompt asks for two lines, a brief analysis then the integer(s), and the
// reply is read by the reference's rule: every integer in the whole reply, in order (see
// `readFlag` and `readCategories`). The wording is ours; a prompts file can replace it.
//
// With no LLM, an embedded heuristic stands in, labelled as such and conservative: it rejects only
// text that is clearly not a question (empty or a few letters) and names a topic only on clear
// keyword evidence, else Others.
import { createHash } from 'node:crypto';
import { definePrompt, promptInForce, renderPrompt, type PromptTemplate } from '../src/core/prompts.js';
import { ModelRequestError } from '../src/models/errors.js';
import type { ChatModel } from '../src/models/types.js';
import type { IntakeAnswer, Provenance, QueryIntake } from '../storage/index.js';

/** The reference's 10 categories, in its order (index = position + 1); 11 is Others. */
export const INTAKE_TOPICS = [
  'Society & Culture',
  'Science & Mathematics',
  'Health',
  'Education & Reference',
  'Computers & Internet',
  'Sports',
  'Business & Finance',
  'Entertainment & Music',
  'Family & Relationships',
  'Politics & Government',
] as const;
export const OTHERS_TOPIC = 'Others';
export const OTHERS_INDEX = 11;

const TWO_LINES = `Answer in exactly two lines and nothing else:
line 1: a short analysis in words, without any digits;
line 2: the answer as {{answerForm}}.`;

export const IS_QUESTION_PROMPT = definePrompt(
  'intake.is-question',
  'v1',
  `# Job
You sort search requests for a dataset of illustrated, well-referenced answers. Read the text below and decide whether it belongs.

# Rules
- Write 0 when the text is not a question or request for information, or is too vague to know what is being asked.
- Write 0 when a short fact would settle it, so that no collection of reference documents is needed to answer well.
- Otherwise write 1.

# Reply format
${TWO_LINES.replace('{{answerForm}}', 'the single integer 0 or 1')}

# Text
{{query}}

# Reply
`,
);

export const NEEDS_IMAGES_PROMPT = definePrompt(
  'intake.needs-images',
  'v1',
  `# Job
You sort questions for a dataset of illustrated answers. Decide whether pictures would make the answer to the question below better.

# Rules
- Write 1 when well-chosen images placed in the answer would make it more complete or easier to follow.
- Otherwise write 0.

# Reply format
${TWO_LINES.replace('{{answerForm}}', 'the single integer 0 or 1')}

# Question
{{query}}

# Reply
`,
);

export const TOPIC_PROMPT = definePrompt(
  'intake.topic',
  'v1',
  `# Job
You sort questions by subject. Give the categories from the list below that the question belongs to.

# Categories
1. Society & Culture: customs, traditions, languages, history and the ways people live, where photos of places, dress or events help.
2. Science & Mathematics: natural phenomena, experiments and mathematical ideas, where diagrams and charts help.
3. Health: the body, illness, treatment and fitness, where anatomical drawings or exercise photos help.
4. Education & Reference: school subjects and general knowledge, where labelled figures and tables help.
5. Computers & Internet: software, devices and the web, where screenshots and step-by-step pictures help.
6. Sports: games, rules, athletes and equipment, where action photos and play diagrams help.
7. Business & Finance: companies, markets, money and the economy, where charts of figures help.
8. Entertainment & Music: films, television, music, artists and celebrities, where covers, stills and portraits help.
9. Family & Relationships: parenting, partners and friendship, where illustrations of situations help.
10. Politics & Government: laws, elections, institutions and public affairs, where maps and historical photos help.
11. Others: none of the above.

# Rules
- Give every category from 1 to 10 that fits; give 11 alone when none does.
- Think about the subject first, then give the numbers.

# Reply format
${TWO_LINES.replace('{{answerForm}}', 'the category numbers separated by single spaces')}

# Question
{{query}}

# Reply
`,
);

/** Longest reply the filter asks for: the analysis line and the integers. */
const REPLY_TOKENS = 256;

/** All integers in the reply, in order (the reference's `re.findall(r"\d+", text)`). */
function integersIn(reply: string): number[] {
  return [...reply.matchAll(/\d+/g)].map((m) => Number(m[0]));
}

/**
 * A 0/1 answer, as the reference's `_get_index` reads it: the first integer in the reply; anything
 * but 0 or 1 reads as 0. One departure, so a broken model cannot silently reject every query: a
 * reply with no integer at all (the reference reads 0) is a malformed reply, recorded as a failure.
 */
export function readFlag(reply: string): 0 | 1 {
  const [first] = integersIn(reply);
  if (first === undefined) throw new ModelRequestError('malformed', `intake reply has no 0/1 answer: ${oneLine(reply)}`);
  return first === 1 ? 1 : 0;
}

/**
 * Category indices, as the reference's `_get_indices` reads them: every integer in the reply; a 0
 * among them makes the answer [0], an 11 makes it [11]. A reply with no integer is malformed (as in readFlag).
 */
export function readCategories(reply: string): number[] {
  const indices = integersIn(reply);
  if (indices.length === 0) throw new ModelRequestError('malformed', `intake reply has no category numbers: ${oneLine(reply)}`);
  if (indices.includes(0)) return [0];
  if (indices.includes(OTHERS_INDEX)) return [OTHERS_INDEX];
  return indices;
}

/** The topic of a category answer: the first of the 10 categories named, else Others. */
export function topicOf(indices: readonly number[]): string {
  const first = indices.find((i) => i >= 1 && i <= INTAKE_TOPICS.length);
  return first === undefined ? OTHERS_TOPIC : INTAKE_TOPICS[first - 1]!;
}

/**
 * Our level rule (the reference stores a level 1–3 per query but its code does not say how it is
 * set): 1 = accepted by the LLM in one of the 10 categories; 2 = accepted by the LLM as Others;
 * 3 = accepted by the embedded heuristic, which no model checked.
 */
export function levelOf(method: QueryIntake['method'], topic: string): 1 | 2 | 3 {
  if (method === 'embedded-heuristic') return 3;
  return topic === OTHERS_TOPIC ? 2 : 1;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? line.slice(0, 120) + '…' : line || '(empty)';
}

type Step = { question: IntakeAnswer['question']; template: PromptTemplate; read: (reply: string) => number[] };
const STEPS: Record<IntakeAnswer['question'], Step> = {
  'is-question': { question: 'is-question', template: IS_QUESTION_PROMPT, read: (reply) => [readFlag(reply)] },
  'needs-images': { question: 'needs-images', template: NEEDS_IMAGES_PROMPT, read: (reply) => [readFlag(reply)] },
  topic: { question: 'topic', template: TOPIC_PROMPT, read: readCategories },
};

async function ask(llm: ChatModel, step: Step, query: string): Promise<IntakeAnswer> {
  const prompt = renderPrompt(step.template, { query });
  const reply = await llm.chat({ messages: [{ role: 'user', content: prompt }], maxTokens: REPLY_TOKENS });
  const provenance: Provenance = {
    provider: llm.provider,
    model: llm.model,
    promptVersion: promptInForce(step.template).version,
    inputHash: reply.inputHash,
    at: new Date().toISOString(),
  };
  return { question: step.question, indices: step.read(reply.text), reply: reply.text, provenance };
}

/**
 * The reference's order: a text that is not a real question is rejected without the other two
 * questions; one whose answer images would not help is rejected before the category question.
 * Throws ModelRequestError (a failed call or a reply with no answer in it).
 */
export async function filterWithLlm(llm: ChatModel, query: string): Promise<QueryIntake> {
  const at = new Date().toISOString();
  const answers = [await ask(llm, STEPS['is-question'], query)];
  if (answers[0]!.indices[0] !== 1) return { verdict: 'rejected', reason: 'not-a-question', method: 'llm', answers, at };
  answers.push(await ask(llm, STEPS['needs-images'], query));
  if (answers[1]!.indices[0] !== 1) return { verdict: 'rejected', reason: 'images-not-helpful', method: 'llm', answers, at };
  answers.push(await ask(llm, STEPS.topic, query));
  const topic = topicOf(answers[2]!.indices);
  return { verdict: 'accepted', method: 'llm', topic, level: levelOf('llm', topic), answers, at };
}

// Words that mark a topic beyond doubt; a topic is named only when its words are found at least
// twice and no other topic's are, so a mixed or thin query stays Others.
const TOPIC_WORDS: Record<(typeof INTAKE_TOPICS)[number], RegExp> = {
  'Society & Culture': /\b(culture|cultural|tradition\w*|custom\w*|festival\w*|religio\w*|language\w*|ritual\w*|heritage)\b/gi,
  'Science & Mathematics': /\b(physics|chemistry|biology|scien\w*|math\w*|equation\w*|theorem\w*|molecule\w*|atom\w*|photosynthesis|planet\w*|evolution)\b/gi,
  Health: /\b(health|disease\w*|symptom\w*|treatment\w*|medic\w*|illness\w*|diet\w*|exercise\w*|vaccine\w*|syndrome)\b/gi,
  'Education & Reference': /\b(school\w*|universit\w*|student\w*|teach\w*|learn\w*|dictionary|encyclopedia|homework|curriculum)\b/gi,
  'Computers & Internet': /\b(computer\w*|software|internet|wi-?fi|router\w*|laptop\w*|programming|browser\w*|website\w*|linux|windows)\b/gi,
  Sports: /\b(sport\w*|football|soccer|basketball|tennis|olympic\w*|athlete\w*|cricket|baseball|golf|team\w*)\b/gi,
  'Business & Finance': /\b(business\w*|financ\w*|stock\w*|invest\w*|econom\w*|bank\w*|tax\w*|interest rates?|market\w*|compan(y|ies))\b/gi,
  'Entertainment & Music': /\b(music\w*|song\w*|album\w*|singer\w*|band\w*|film\w*|movie\w*|tv|television|actor\w*|actress\w*|concert\w*|single)\b/gi,
  'Family & Relationships': /\b(famil\w*|parent\w*|child\w*|marriage|married|couple\w*|friend\w*|relationship\w*|divorce|sibling\w*)\b/gi,
  'Politics & Government': /\b(politic\w*|government\w*|election\w*|president\w*|parliament\w*|congress|law\w*|vote\w*|senate|minister\w*)\b/gi,
};

/** Letters in a text (any script). */
const LETTER = /\p{L}/gu;

/** The embedded intake verdict: conservative, labelled, no model. */
export function filterWithHeuristic(query: string): QueryIntake {
  const at = new Date().toISOString();
  const provenance: Provenance = {
    provider: 'embedded',
    model: 'intake-heuristic',
    promptVersion: 'intake-heuristic@v1',
    inputHash: createHash('sha256').update(query).digest('hex'),
    at,
  };
  const letters = query.match(LETTER)?.length ?? 0;
  if (letters < 4) {
    return { verdict: 'rejected', reason: 'not-a-question', method: 'embedded-heuristic', answers: [{ question: 'is-question', indices: [0], provenance }], at };
  }
  const hits = INTAKE_TOPICS.map((topic) => query.match(TOPIC_WORDS[topic])?.length ?? 0);
  const matched = hits.filter((n) => n > 0).length;
  const best = hits.findIndex((n) => n >= 2);
  const category = matched === 1 && best >= 0 ? best + 1 : OTHERS_INDEX;
  const topic = topicOf([category]);
  return {
    verdict: 'accepted',
    method: 'embedded-heuristic',
    topic,
    level: levelOf('embedded-heuristic', topic),
    // The heuristic cannot judge whether images help, so it assumes they do (conservative: it keeps the query).
    answers: [
      { question: 'is-question', indices: [1], provenance },
      { question: 'needs-images', indices: [1], provenance },
      { question: 'topic', indices: [category], provenance },
    ],
    at,
  };
}

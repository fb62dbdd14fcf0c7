// RagVL relevance from the first generated token: the softmax over the Yes and No logits only,
// P(Yes) / (P(Yes) + P(No)). Token spellings vary by tokenizer ("Yes", " yes", "YES", "▁Yes"), so
// every top-logprob token that reads as yes/no after trimming and lowercasing adds to its side.

export type YesNoRelevance = { ok: true; relevance: number; pYes: number; pNo: number } | { ok: false; reason: string };

function sideOf(token: string): 'yes' | 'no' | undefined {
  const word = token
    .replace(/^[\s\u2581\u0120]+/u, '')
    .replace(/[\s.,!:;"']+$/u, '')
    .toLowerCase();
  if (word === 'yes') return 'yes';
  if (word === 'no') return 'no';
  return undefined;
}

export function yesNoRelevance(firstTokenLogprobs: Record<string, number> | undefined): YesNoRelevance {
  if (!firstTokenLogprobs || Object.keys(firstTokenLogprobs).length === 0) {
    return { ok: false, reason: 'reply has no first-token logprobs' };
  }
  let pYes = 0;
  let pNo = 0;
  for (const [token, logprob] of Object.entries(firstTokenLogprobs)) {
    if (!Number.isFinite(logprob)) continue;
    const side = sideOf(token);
    if (side === 'yes') pYes += Math.exp(logprob);
    else if (side === 'no') pNo += Math.exp(logprob);
  }
  if (pYes + pNo === 0) {
    return { ok: false, reason: `no Yes/No token among first-token candidates: ${Object.keys(firstTokenLogprobs).slice(0, 5).join(', ')}` };
  }
  return { ok: true, relevance: pYes / (pYes + pNo), pYes, pNo };
}

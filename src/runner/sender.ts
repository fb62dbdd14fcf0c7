// Sends a generation's prompts to one chat model and keeps what they cost and which prompt versions
// were in force, for the Generation record.
import { promptInForce, type PromptTemplate } from '../core/prompts.js';
import type { ChatContent, ChatModel } from '../models/types.js';

export type GenerationMethod = 'llm-single-stage' | 'llm-multi-stage' | 'mllm-single-stage' | 'llm-ragvl' | 'llm-text-only' | 'mllm-short-answer' | 'extractive';

export interface GenerationOutput {
  method: GenerationMethod;
  output: string;
  /** 1-based indexes into the input images, in order of appearance. */
  cited: number[];
  prompt?: string;
  /** The versions of the prompt templates used, comma-separated. */
  promptVersion?: string;
  usage: { promptTokens: number; completionTokens: number };
  inputHash: string;
  counts: Record<string, number>;
}

export class ChatSender {
  private promptTokens = 0;
  private completionTokens = 0;
  private readonly hashes: string[] = [];
  private readonly promptVersion: string;

  constructor(
    private readonly model: ChatModel,
    templates: PromptTemplate[],
  ) {
    this.promptVersion = templates.map((t) => promptInForce(t).version).join(',');
  }

  async send(content: string | ChatContent[], maxTokens: number): Promise<string> {
    const reply = await this.model.chat({ messages: [{ role: 'user', content }], maxTokens, temperature: 0 });
    this.promptTokens += reply.usage?.promptTokens ?? 0;
    this.completionTokens += reply.usage?.completionTokens ?? 0;
    this.hashes.push(reply.inputHash);
    return reply.text;
  }

  output(method: GenerationMethod, output: string, cited: number[], prompt: string, counts: Record<string, number>): GenerationOutput {
    return {
      method,
      output,
      cited,
      prompt,
      promptVersion: this.promptVersion,
      usage: { promptTokens: this.promptTokens, completionTokens: this.completionTokens },
      inputHash: this.hashes.join(','),
      counts,
    };
  }
}

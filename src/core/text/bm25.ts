// A BM25 lexical index (MiniSearch, whose ranking is BM25+), shared by the local search provider,
// the embedded scorers and the retriever wherever lexical matching serves.
import MiniSearch from 'minisearch';

export interface LexicalHit {
  id: string;
  score: number;
}

export class Bm25Index {
  private readonly index = new MiniSearch<{ id: string; text: string }>({
    fields: ['text'],
    storeFields: [],
    searchOptions: { prefix: false, fuzzy: false, combineWith: 'OR' },
  });

  get size(): number {
    return this.index.documentCount;
  }

  add(id: string, text: string): void {
    if (this.index.has(id)) this.index.replace({ id, text });
    else this.index.add({ id, text });
  }

  /** Best matches first; ties keep insertion order. */
  search(query: string, limit = 10): LexicalHit[] {
    return this.index
      .search(query)
      .slice(0, limit)
      .map((hit) => ({ id: String(hit.id), score: hit.score }));
  }
}

// Crawlee's pluggable HTTP client, backed by safeFetch: CheerioCrawler keeps its queue, retries and
// parsing, and every page request it makes (and every redirect hop) passes our safety policy,
// per-host politeness and byte cap.
import type { BaseHttpClient, HttpRequest, HttpResponse, RedirectHandler, ResponseTypes, StreamingHttpResponse } from '@crawlee/core';
import { readBody, safeFetch, type SafeFetchOptions } from './safe-http.js';

export class SafeCrawleeHttpClient implements BaseHttpClient {
  constructor(private readonly options: SafeFetchOptions) {}

  async stream(request: HttpRequest, onRedirect?: RedirectHandler): Promise<StreamingHttpResponse> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      if (typeof value === 'string' && !/^(user-agent|accept-encoding|host|connection)$/i.test(name)) headers[name.toLowerCase()] = value;
    }
    const response = await safeFetch(String(request.url), {
      ...this.options,
      headers,
      onRedirect: (from, to, statusCode, responseHeaders) => {
        // Our own rule (say, stay on the site's origin) first; it throws to refuse the hop.
        this.options.onRedirect?.(from, to, statusCode, responseHeaders);
        onRedirect?.(
          { url: from.href, redirectUrls: [], statusCode, headers: responseHeaders, trailers: {}, complete: true },
          { url: to, headers: {} },
        );
      },
    });
    let transferred = 0;
    response.body.on('data', (chunk: Buffer) => (transferred += chunk.length));
    return {
      request,
      url: response.url,
      redirectUrls: response.redirectUrls,
      ip: response.ip,
      statusCode: response.statusCode,
      statusMessage: response.statusMessage,
      headers: response.headers,
      trailers: {},
      complete: false,
      stream: response.body,
      get downloadProgress() {
        return { percent: 0, transferred };
      },
      get uploadProgress() {
        return { percent: 100, transferred: 0 };
      },
    };
  }

  async sendRequest<T extends keyof ResponseTypes = 'text'>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    const streamed = await this.stream(request as HttpRequest);
    const bytes = await readBody(streamed.stream);
    const type = request.responseType ?? 'text';
    const body = type === 'buffer' ? bytes : type === 'json' ? JSON.parse(bytes.toString('utf8')) : bytes.toString(request.encoding ?? 'utf8');
    const { stream: _stream, ...rest } = streamed;
    return { ...rest, complete: true, request, body } as unknown as HttpResponse<T>;
  }
}

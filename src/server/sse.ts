// Server-Sent Events on a raw Node response, as OpenAI streams them: `data: <json>\n\n` per chunk and a final
// `data: [DONE]\n\n`. The stream owns the response (Fastify's reply is hijacked), and reports when the client
// has gone away so the generation feeding it can stop.
import type { FastifyReply } from 'fastify';

export class SseStream {
  private readonly ac = new AbortController();
  private ended = false;

  constructor(private readonly reply: FastifyReply, headers: Record<string, string> = {}) {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no', ...headers });
    res.flushHeaders();
    // 'close' on the response: the connection ended; before end() was called, that is the client leaving.
    res.on('close', () => {
      if (!this.ended) this.ac.abort();
    });
  }

  /** Aborts when the client disconnects. */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  get closed(): boolean {
    return this.ended || this.ac.signal.aborted;
  }

  data(value: unknown, opts: { event?: string; id?: number } = {}): void {
    if (this.closed) return;
    let s = '';
    if (opts.id !== undefined) s += `id: ${opts.id}\n`;
    if (opts.event) s += `event: ${opts.event}\n`;
    this.reply.raw.write(`${s}data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`);
  }

  /** A comment line: keeps proxies from closing an idle stream. */
  ping(): void {
    if (!this.closed) this.reply.raw.write(': ping\n\n');
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.ac.signal.aborted) this.reply.raw.end();
  }
}

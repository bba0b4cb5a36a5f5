/** Plain HTTP/1.1 over a keep-alive agent with one socket per concurrent loop. */
import * as http from 'node:http';

export interface RestReply {
  status: number;
  body: Buffer;
}

export class RestClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly host: string,
    private readonly port: number,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  request(method: 'GET' | 'POST', path: string, body?: Buffer): Promise<RestReply> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path,
          headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** POST that must answer 200; anything else rejects with the answer's start. */
  async post(path: string, body: Buffer): Promise<Buffer> {
    const reply = await this.request('POST', path, body);
    if (reply.status !== 200)
      throw new Error(`POST ${path}: HTTP ${reply.status} ${reply.body.toString().slice(0, 300)}`);
    return reply.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

export function predictPath(model: string): string {
  return `/v1/models/${encodeURIComponent(model)}:predict`;
}

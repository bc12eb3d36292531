import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP server on 127.0.0.1 that records each POST and answers with the next queued status (default 200). */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Statuses of the next answers, in order; then `defaultStatus`. */
  answers: number[];
  defaultStatus: number;
  /** The body of every answer. */
  answerBody: string;
  close(): Promise<void>;
}

/** On `port` when given (e.g. one a test kept closed until now), otherwise on a free one. */
export async function startReceiver(port = 0): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    answers: [],
    defaultStatus: 200,
    answerBody: 'ok',
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      receiver.received.push({
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const status = receiver.answers.shift() ?? receiver.defaultStatus;
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (status >= 300 && status < 400) headers.location = `${receiver.url}/moved`;
      response.writeHead(status, headers).end(receiver.answerBody);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return receiver;
}

import { GraphQLError } from 'graphql';
import type { FetchAPI, Plugin } from 'graphql-yoga';

/** The largest request body `/graphql` reads (Yoga's own default). */
export const MAX_REQUEST_BODY_BYTES = 25_000_000;

function bodyTooLarge(): GraphQLError {
  return new GraphQLError('Request body too large', {
    extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
  });
}

const CONTENT_LENGTH = /^\d+$/;

/**
 * Yoga's request body limit (413 `REQUEST_ENTITY_TOO_LARGE`; 400 for a malformed Content-Length),
 * with the body counted as it streams only when no Content-Length announces its size. Yoga's own
 * plugin wraps every body in a counting stream and a new Request, which took about 3% of the CPU
 * of a small query; a body with a Content-Length cannot be longer, as Node's HTTP parser reads
 * exactly that many bytes. Yoga's is turned off (`maxRequestBodySize: false`) where this one runs.
 */
export function requestBodyLimitPlugin(limit = MAX_REQUEST_BODY_BYTES): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length != null) {
        if (!CONTENT_LENGTH.test(length)) {
          throw new GraphQLError('Content-Length header is invalid.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
        if (Number(length) > limit) throw bodyTooLarge();
        return;
      }
      if (requestParser == null || request.body == null) return;
      const parse = requestParser;
      setRequestParser((original) => parse(counted(original, limit, fetchAPI)));
    },
  };
}

/** `request` with a body that errors once more than `limit` bytes have streamed through. */
function counted(request: Request, limit: number, fetchAPI: FetchAPI): Request {
  let read = 0;
  // As Yoga does: a native body needs the native TransformStream, a ponyfilled one the ponyfill's.
  const Transform = request.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
  const body = request.body!.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > limit) controller.error(bodyTooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body,
    // @ts-expect-error -- a streamed request body needs `duplex`, which lib.dom does not declare yet
    duplex: 'half',
  });
}

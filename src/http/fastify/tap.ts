import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Answer } from '../core/exchange.js';
import { applyAnswer, type Pending } from './exchange.js';

/**
 * The capture of a Fastify response, in `onSend`: the payload is whole by then, unless it is a stream,
 * which is never stored (its end is not known in time to release the requests waiting on it).
 */

function isStream(payload: unknown): boolean {
  return typeof (payload as { pipe?: unknown } | null)?.pipe === 'function';
}

function lowerCased(headers: Record<string, unknown>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = value as OutgoingHttpHeaders[string];
  }
  return out;
}

/** Settles the capture from what the route sends; returns the payload the client gets. */
export async function tapPayload(
  reply: FastifyReply,
  payload: unknown,
  pending: Pending,
  capture: NonNullable<Pending['capture']>,
): Promise<unknown> {
  const { options, before, settle } = capture;
  const status = reply.statusCode;
  const headers = lowerCased(reply.getHeaders());
  if (status === 304 && options.interceptNotModified) {
    const answer = await new Promise<Answer>((resolve) => {
      pending.answered = resolve;
      settle({ kind: 'not-modified', headers });
    });
    // The engine's answer from the refreshed entry, on the response as it was before the route ran.
    for (const name of Object.keys(reply.getHeaders())) if (!(name in before)) reply.removeHeader(name);
    applyAnswer(reply, answer);
    return answer.body ?? null;
  }
  for (const name of options.strip) reply.removeHeader(name);
  const length = Number(headers['content-length']);
  const reason =
    Number.isFinite(length) && length > options.limit
      ? 'body larger than maxBodySize'
      : options.onHeaders(status, headers);
  if (reason !== undefined) settle({ kind: 'passed', status, reason });
  else if (isStream(payload)) settle({ kind: 'passed', status, reason: 'a stream' });
  else {
    const body =
      payload === undefined || payload === null
        ? Buffer.alloc(0)
        : Buffer.isBuffer(payload)
          ? Buffer.from(payload)
          : Buffer.from(String(payload));
    if (body.length > options.limit) {
      settle({ kind: 'passed', status, reason: 'body larger than maxBodySize' });
    } else settle({ kind: 'complete', status, headers, body });
  }
  return payload;
}

import type { OutgoingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { conditionalsOf, setConditionals } from '../conditionals.js';
import type { Background, Exchange, Production, RequestView } from '../core/exchange.js';
import { captureResponse } from './capture.js';
import { peerOf, revalidate } from './detached.js';

/** One Express request as the engine sees it; `next` continues the chain (at most once: see the caller). */
export function expressExchange(
  req: Request,
  res: Response,
  next: NextFunction,
  owner: symbol,
): Exchange<Request> {
  const request: RequestView = {
    method: req.method,
    url: req.originalUrl ?? req.url ?? '/',
    // As Express resolves it: `X-Forwarded-Host` only counts when `trust proxy` trusts the peer.
    host: (req.hostname ?? '').toLowerCase(),
    // The live object: the route runs with the conditionals the cache sets here (and restores).
    headers: req.headers,
  };
  const label = (status: string) => {
    if (!res.headersSent) res.setHeader('X-Cache', status);
  };
  return {
    request,
    identity: req,
    native: req,
    pass(status) {
      if (status !== undefined) label(status);
      next();
    },
    passUnsafe(settle) {
      const end = res.end;
      res.end = function (this: Response, ...args: unknown[]) {
        res.end = end;
        if (this.statusCode < 200 || this.statusCode >= 400) {
          return end.apply(this, args as Parameters<typeof end>);
        }
        settle((name) => this.getHeader(name)).then(() => end.apply(this, args as Parameters<typeof end>));
        return this;
      } as typeof res.end;
      label('BYPASS');
      next();
    },
    send(answer) {
      for (const [name, value] of answer.headers) res.setHeader(name, value);
      res.statusCode = answer.status;
      if (answer.body === undefined || req.method === 'HEAD') res.end();
      else res.end(answer.body);
    },
    async produce(conditionals, options): Promise<Production> {
      const own = conditionalsOf(req.headers);
      setConditionals(req.headers, conditionals);
      label('MISS');
      const before: OutgoingHttpHeaders = res.getHeaders();
      const captured = captureResponse(res, options);
      next();
      const capture = await captured;
      if (capture.kind === 'not-modified') {
        // The response is the cache's again: as it was before the route ran, for the client's own request.
        setConditionals(req.headers, own);
        for (const name of res.getHeaderNames()) if (!(name in before)) res.removeHeader(name);
      }
      return { capture, before };
    },
    background(): Background<Request> {
      const peer = peerOf(req.socket);
      return (job) =>
        revalidate({
          original: req,
          peer,
          owner,
          key: job.key,
          timeout: job.timeout,
          signal: job.signal,
          produce: (detachedReq, detachedRes, detachedNext) =>
            job.run(expressExchange(detachedReq, detachedRes, detachedNext, owner)),
        });
    },
    fail(error) {
      next(error);
    },
  };
}

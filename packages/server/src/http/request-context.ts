import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

// What we accept from a caller's X-Request-Id: it ends up in every log line, so nothing exotic.
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when it is sane, else a fresh UUID), echoes
 * it in the response, and a pino child logger that puts it on every line logged for the request.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    const log = logger.child({ requestId });
    res.locals.requestId = requestId;
    res.locals.log = log;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    const fields = () => ({
      method: req.method,
      // The path only: a query string may carry GraphQL variables or a token (GET /graphql?…).
      url: req.originalUrl.split('?', 1)[0],
      status: res.statusCode,
      durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
    });
    // The request's logger as it is when the request ends: authentication adds the principal to it.
    res.on('finish', () => requestLog(res).info(fields(), 'request completed'));
    res.on('close', () => {
      if (!res.writableFinished) requestLog(res).warn(fields(), 'request aborted by the client');
    });
    next();
  };
}

export function requestIdOf(res: Response): string {
  return res.locals.requestId as string;
}

export function requestLog(res: Response): Logger {
  return res.locals.log as Logger;
}

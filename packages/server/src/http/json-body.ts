import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { requestIdOf, requestLog } from './request-context.ts';

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Reads a POST's JSON body with a size limit, before GraphQL sees the request: graphql-yoga reads
 * the raw request stream itself and has no limit, but takes a body parsed here as it is.
 * - larger than `maxBytes` (by Content-Length, or counted as it arrives): 413, PAYLOAD_TOO_LARGE;
 * - not JSON: 415, UNSUPPORTED_MEDIA_TYPE. GraphQL over HTTP is JSON; yoga's other formats
 *   (multipart, form-urlencoded, application/graphql) would bypass the limit, and are what a
 *   cross-site form can send without a CORS preflight;
 * - malformed JSON: 400, BAD_REQUEST.
 * Bodies are GraphQL-shaped (`errors[].extensions.code`), like the rest of /graphql's refusals. The
 * body is never logged, nor the parser's error (it carries the body).
 */
export function jsonBody(maxBytes: number): RequestHandler {
  const parse = express.json({ limit: maxBytes, type: JSON_TYPES, strict: true });
  return (req: Request, res: Response, next: NextFunction) => {
    // null: no body at all, which yoga answers itself (400).
    const json = req.method === 'POST' ? req.is(JSON_TYPES) : null;
    if (json === null) return next();
    if (json === false) {
      return refuse(res, 415, 'UNSUPPORTED_MEDIA_TYPE', `POST ${req.baseUrl || req.path} takes a JSON body (Content-Type: application/json).`);
    }
    parse(req, res, (error?: unknown) => {
      if (error === undefined || error === null) return next();
      const { status, type } = error as { status?: number; type?: string };
      if (type === 'entity.too.large') {
        return refuse(res, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBytes} bytes, the limit.`, { limitBytes: maxBytes });
      }
      if (type === 'entity.parse.failed') return refuse(res, 400, 'BAD_REQUEST', 'The request body is not valid JSON.');
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return refuse(res, status, status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST', `The request body could not be read (${type ?? 'unreadable'}).`);
      }
      next(error);
    });
  };
}

function refuse(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  requestLog(res).warn({ status, code }, 'request body refused');
  res.status(status).json({ errors: [{ message, extensions: { code, ...extra, requestId: requestIdOf(res) } }] });
}

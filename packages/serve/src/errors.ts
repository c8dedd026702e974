// Errors in the OpenAI shape, `{error: {message, type, param, code}}`, for every failure the
// server answers, including fastify's own (schema, body size, JSON syntax, unknown routes).
import type { FastifyError, FastifyInstance } from 'fastify';
import { BadRequestError } from './text.js';

export interface ApiErrorDetails {
  /** The request field at fault. */
  param?: string | null;
  code?: string | null;
  /** Seconds, for 429 and 503: sent as `Retry-After`. */
  retryAfter?: number;
}

/** A failure answered with `status` and the OpenAI error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: ApiErrorDetails = {},
  ) {
    super(message);
  }
}

function errorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function errorBody(status: number, message: string, details: ApiErrorDetails = {}) {
  return {
    error: {
      message,
      type: errorType(status),
      param: details.param ?? null,
      code: details.code ?? null,
    },
  };
}

/** The field a schema error is about, e.g. `max_tokens`, `stream_options.include_usage`. */
interface SchemaError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

function schemaMessage(e: SchemaError): { param: string; message: string } {
  const path = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
  const at = (name: string) => (path ? `${path}.${name}` : name);
  if (e.keyword === 'additionalProperties') {
    const name = at(String(e.params.additionalProperty));
    return { param: name, message: `${name}: unknown field` };
  }
  if (e.keyword === 'required') {
    const name = at(String(e.params.missingProperty));
    return { param: name, message: `${name}: required field is missing` };
  }
  const param = path || 'body';
  return { param, message: `${param}: ${e.message ?? 'is invalid'}` };
}

/** Answers every error, and unknown routes, in the OpenAI shape. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError | BadRequestError, _request, reply) => {
    let status: number;
    let message = error.message;
    let details: ApiErrorDetails = {};
    if (error instanceof ApiError) {
      status = error.status;
      details = error.details;
    } else if (error instanceof BadRequestError) {
      status = 400;
      details = { param: error.param };
    } else if ((error as FastifyError).validation) {
      status = 400;
      const first = schemaMessage((error as FastifyError).validation?.[0] as SchemaError);
      message = first.message;
      details = { param: first.param };
    } else if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      message = `request body: larger than this server's limit of ${app.initialConfig.bodyLimit} bytes`;
      details = { code: 'body_too_large' };
    } else {
      status = (error as FastifyError).statusCode ?? 500;
      if (status < 400 || status > 599) status = 500;
      details = { code: (error as FastifyError).code ?? null };
    }
    if (details.retryAfter !== undefined) reply.header('retry-after', String(details.retryAfter));
    reply.code(status).send(errorBody(status, message, details));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(
      errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`, {
        code: 'not_found',
      }),
    );
  });
}

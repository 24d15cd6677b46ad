/** HttpError: an error a handler throws to answer with a status and `{ error: { code, message } }`; and how Baton errors map to statuses. */

import { BatonError } from '../index.js';

/** One problem of a refused request, as zod reports it: where and what. */
export interface RequestIssue {
  path: (string | number)[];
  message: string;
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: RequestIssue[] };
}

/**
 * An error with the HTTP status to answer with; the server turns it into an {@link ErrorBody}.
 *
 * @example
 * ```ts
 * throw new HttpError(404, 'RUN_NOT_FOUND', 'No run run_1.');
 * ```
 */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500,
    readonly code: string,
    message: string,
    readonly issues?: RequestIssue[],
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The JSON body this error answers with. */
  body(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues === undefined ? {} : { issues: this.issues }),
      },
    };
  }
}

const statusOfCode: Readonly<Record<string, 400 | 404 | 409>> = {
  RUN_NOT_FOUND: 404,
  RUN_ENDED: 409,
  RUN_NOT_ENDED: 409,
  RUN_EXISTS: 409,
  RUN_LEASED: 409,
  INVALID_INPUT: 400,
  INVALID_SIGNAL_PAYLOAD: 400,
  FORBIDDEN_KEY: 400,
};

/**
 * The `HttpError` for anything a handler threw: itself, a Baton error with a known code (404 for
 * an unknown run, 400 for input or a payload the run refuses, 409 for a run that has ended), or
 * a 500 that says nothing of the internals.
 *
 * @example
 * ```ts
 * toHttpError(new RunNotFoundError('run_1')).status; // 404
 * ```
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (BatonError.isInstance(error)) {
    const status = statusOfCode[error.code];
    if (status !== undefined) return new HttpError(status, error.code, error.message);
  }
  return new HttpError(500, 'INTERNAL', 'The server failed to answer; its log says why.');
}

import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The body of every API error: a stable code for scripts and a message that says what to do. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

export class ApiError extends HTTPException {
  readonly code: string;

  constructor(status: ContentfulStatusCode, code: string, message: string) {
    super(status, { message });
    this.code = code;
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function unknownJob(name: string, jobs: string[]): ApiError {
  const list = jobs.length ? `configured jobs: ${jobs.join(', ')}` : 'no jobs are configured';
  return new ApiError(404, 'unknown_job', `no job named '${name}' (${list})`);
}

import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { dependencyUnavailable, unavailableDependency } from './dependency-error.js';

interface BodyParserError {
  type: string;
  status: number;
  expose?: boolean;
  message: string;
}

const BODY_PARSER_MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'Request body is not valid JSON',
  'entity.too.large': 'Request body is too large',
  'encoding.unsupported': 'Unsupported content encoding',
  'charset.unsupported': 'Unsupported charset',
  'request.aborted': 'Request aborted',
};

function isBodyParserError(error: unknown): error is BodyParserError {
  const e = error as Partial<BodyParserError>;
  return typeof e?.type === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500;
}

/**
 * One place that turns every error into a JSON answer: HTTP exceptions pass through, malformed bodies are
 * 4xx, an unreachable PostgreSQL or Redis is 503, anything else is a 500 with no detail (the detail, minus
 * query parameters, goes to the log).
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.toHttp(exception);
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(status).json(body);
  }

  private toHttp(exception: unknown): { status: number; body: Record<string, unknown> } {
    if (exception instanceof HttpException) {
      const payload = exception.getResponse();
      const body = typeof payload === 'string' ? { statusCode: exception.getStatus(), message: payload } : payload;
      return { status: exception.getStatus(), body: body as Record<string, unknown> };
    }
    if (isBodyParserError(exception)) {
      const message = BODY_PARSER_MESSAGES[exception.type] ?? 'Malformed request';
      return { status: exception.status, body: { statusCode: exception.status, message, error: 'Bad Request' } };
    }
    const dependency = unavailableDependency(exception);
    if (dependency) {
      this.logger.warn(`${dependency} unavailable: ${describe(exception)}`);
      const http = dependencyUnavailable(dependency);
      return { status: http.getStatus(), body: http.getResponse() as Record<string, unknown> };
    }
    this.logger.error(`Unhandled error: ${describe(exception)}`, (exception as Error)?.stack?.split('\n').slice(1, 6).join('\n'));
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' },
    };
  }
}

/** Drizzle puts the query parameters into its error message; log only the driver's own error. */
function describe(exception: unknown): string {
  const e = exception as { name?: string; message?: string; cause?: { message?: string; code?: string } };
  if (e?.name === 'DrizzleQueryError' && e.cause) return `${e.cause.code ?? ''} ${e.cause.message ?? ''}`.trim();
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(exception)}`;
}

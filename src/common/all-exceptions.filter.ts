import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { describeError, stackFrames } from './describe-error.js';
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

/** Stack frames logged with an unhandled error. */
const LOGGED_STACK_FRAMES = 5;

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
      this.logger.warn(`${dependency} unavailable: ${describeError(exception)}`);
      const http = dependencyUnavailable(dependency);
      return { status: http.getStatus(), body: http.getResponse() as Record<string, unknown> };
    }
    this.logger.error(`Unhandled error: ${describeError(exception)}`, stackFrames(exception, LOGGED_STACK_FRAMES));
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' },
    };
  }
}

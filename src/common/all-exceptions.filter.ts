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

/**
 * SQLSTATEs that only a value can cause (too long, out of range, not a valid date/number/uuid, a NUL or a
 * character the encoding lacks). Input validation should stop such values at the edge; if one slips through,
 * the request was still at fault, so the answer is 400, not 500 (logged at warn level with the code, so the
 * missing validation gets noticed).
 */
const PG_INVALID_VALUE = new Set(['22001', '22003', '22007', '22008', '22021', '22P02', '22P05']);

function invalidValueCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && PG_INVALID_VALUE.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

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
    const invalidValue = invalidValueCode(exception);
    if (invalidValue) {
      this.logger.warn(`A request value was rejected by PostgreSQL (SQLSTATE ${invalidValue}); validation should have caught it`);
      return {
        status: HttpStatus.BAD_REQUEST,
        body: {
          statusCode: HttpStatus.BAD_REQUEST,
          error: 'Bad Request',
          message: ['A value in the request is out of range or cannot be stored'],
        },
      };
    }
    this.logger.error(`Unhandled error: ${describeError(exception)}`, stackFrames(exception, LOGGED_STACK_FRAMES));
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' },
    };
  }
}

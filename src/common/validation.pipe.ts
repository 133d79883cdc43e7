import { BadRequestException, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';

/**
 * Deepest nesting accepted in a body, query or parameter. class-transformer and class-validator recurse once
 * per level, so a 256 kB body of `[[[[…` overflowed the stack (a 500); nothing the API takes needs more.
 */
export const MAX_INPUT_DEPTH = 32;
/** PostgreSQL text and jsonb cannot hold U+0000: such a value would fail in the database instead of here. */
const NUL = '\u0000';
const INPUT_LABELS: Partial<Record<ArgumentMetadata['type'], string>> = {
  body: 'the request body',
  query: 'the query string',
  param: 'the path parameters',
};

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      // class-validator names the leaf property only; prefix nested paths so the client sees which one.
      parent && message.startsWith(error.property) ? `${parent}.${message}` : message,
    );
    return [...own, ...flatten(error.children ?? [], path)];
  });
}

function badRequest(message: string): BadRequestException {
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: [message] });
}

/**
 * Rejects what no DTO rule can express safely: nesting deeper than MAX_INPUT_DEPTH and NUL characters in any
 * string or key. Iterative, so the check itself cannot overflow the stack; the message names the path.
 */
export function assertStorableInput(value: unknown, metadata: Pick<ArgumentMetadata, 'type' | 'data'>): void {
  const root = metadata.data ?? '';
  const label = metadata.data ?? INPUT_LABELS[metadata.type] ?? 'the input';
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (typeof current.value === 'string') {
      if (current.value.includes(NUL)) throw badRequest(`${current.path || label} must not contain NUL (\\u0000) characters`);
      continue;
    }
    if (current.value === null || typeof current.value !== 'object') continue;
    if (current.depth >= MAX_INPUT_DEPTH) throw badRequest(`${label} is nested more than ${MAX_INPUT_DEPTH} levels deep`);
    for (const [key, child] of Object.entries(current.value)) {
      const path = current.path ? `${current.path}.${key}` : key;
      if (key.includes(NUL)) throw badRequest(`${current.path || label} has a key containing a NUL (\\u0000) character`);
      stack.push({ value: child, path, depth: current.depth + 1 });
    }
  }
}

/** The global pipe: the storable-input check above, then class-validator against the DTO. */
class ApiValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Custom parameters (the principal) come from the app itself, not from the request.
    if (metadata.type !== 'custom') assertStorableInput(value, metadata);
    return super.transform(value, metadata);
  }
}

/** Unknown fields, wrong types and out-of-range values are all 400 with messages naming the field. */
export function createValidationPipe(): ValidationPipe {
  return new ApiValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    stopAtFirstError: false,
    exceptionFactory: (errors) =>
      new BadRequestException({ statusCode: 400, error: 'Bad Request', message: flatten(errors) }),
  });
}

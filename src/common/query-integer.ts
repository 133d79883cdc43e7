import { Transform } from 'class-transformer';

const DECIMAL_INTEGER = /^-?\d{1,16}$/;

/**
 * Converts a query-string value to a number only when it is written as a plain decimal integer. `@Type(() =>
 * Number)` uses Number(), which also takes "0x10" (16), "1e1" (10), " 5" and "" (0); those now stay strings
 * and fail @IsInt() with the usual 400 naming the parameter.
 */
export const QueryInteger = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' && DECIMAL_INTEGER.test(value) ? Number(value) : value));

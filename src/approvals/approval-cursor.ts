import { BadRequestException } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { SortField, SortOrder } from './dto/list-approvals.query.js';

/**
 * Keyset position after the last item of a page: its sort value and its id (the tie-breaker). Timestamps keep
 * PostgreSQL's microseconds (a JS Date would drop them and skip or repeat rows that share a millisecond).
 * The sort and order are inside, so a cursor cannot be replayed against a different ordering.
 */
export interface ApprovalCursor {
  sortBy: SortField;
  order: SortOrder;
  value: string;
  id: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const INTEGER = /^-?\d{1,10}$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * The value goes into SQL as `::timestamptz` / `::integer`: the right shape is not enough (month 13 or a
 * ten-digit number made PostgreSQL fail the query with a 500), it must be a value the cast accepts.
 */
function isValidSortValue(sortBy: SortField, value: string): boolean {
  if (sortBy === 'confidenceScore') {
    const n = Number(value);
    return INTEGER.test(value) && n >= INT32_MIN && n <= INT32_MAX;
  }
  // Date.parse rolls some impossible times over (24:00) and accepts year 0, which PostgreSQL has not; the
  // round trip through toISOString catches the first, the prefix check the second.
  const millis = Date.parse(value);
  return (
    TIMESTAMP.test(value) &&
    !value.startsWith('0000') &&
    !Number.isNaN(millis) &&
    new Date(millis).toISOString().slice(0, 19) === value.slice(0, 19)
  );
}

function malformed(detail: string): BadRequestException {
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: [`cursor ${detail}`] });
}

export function encodeCursor(cursor: ApprovalCursor): string {
  return Buffer.from(JSON.stringify([cursor.sortBy, cursor.order, cursor.value, cursor.id])).toString('base64url');
}

export function decodeCursor(encoded: string, sortBy: SortField, order: SortOrder): ApprovalCursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw malformed('is malformed (pass back the nextCursor of the previous page unchanged)');
  }
  if (!Array.isArray(parts) || parts.length !== 4 || !parts.every((p) => typeof p === 'string')) {
    throw malformed('is malformed (pass back the nextCursor of the previous page unchanged)');
  }
  const [cursorSort, cursorOrder, value, id] = parts as string[];
  if (cursorSort !== sortBy || cursorOrder !== order) {
    throw malformed(`was issued for sortBy=${cursorSort}&order=${cursorOrder}; repeat those with it`);
  }
  if (!isValidSortValue(sortBy, value!) || !isUUID(id)) {
    throw malformed('is malformed (pass back the nextCursor of the previous page unchanged)');
  }
  return { sortBy, order, value: value!, id: id! };
}

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
  const valueShape = sortBy === 'confidenceScore' ? INTEGER : TIMESTAMP;
  if (!valueShape.test(value!) || !isUUID(id)) {
    throw malformed('is malformed (pass back the nextCursor of the previous page unchanged)');
  }
  return { sortBy, order, value: value!, id: id! };
}

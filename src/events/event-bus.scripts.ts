/**
 * Lua scripts for the steps that must be atomic in Redis. Run with EVAL: Redis caches the compiled script
 * by its hash, so only the text is resent, and these run rarely (DLQ moves, admin actions, retry polls).
 */

/**
 * Pops up to ARGV[2] retries due at ARGV[1] (ms) from the retry set, so two consumers never take the same
 * one, and returns them with the score of the next one still waiting (if any).
 * KEYS: retry set.
 */
export const POP_DUE_RETRIES = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {due, nextDue[2]}
`;

/**
 * Moves one event to the DLQ: makes room by trimming exactly the oldest entries (dropping their index
 * entries and counting them), appends the DLQ entry, indexes it by event id, acknowledges the main-stream
 * entry and forgets any scheduled retry. Returns {dlqId, trimmedCount}.
 * KEYS: main, dlq, dlq index, trimmed counter, retry set.
 * ARGV: group, main stream id, dlq maxlen, eventId, tenantId, type, event json, error, stack, attempts, movedAt.
 */
export const MOVE_TO_DLQ = `
local maxlen = tonumber(ARGV[3])
local excess = redis.call('XLEN', KEYS[2]) - maxlen + 1
local trimmed = 0
if excess > 0 then
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)
  for _, entry in ipairs(oldest) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'eventId' and redis.call('HGET', KEYS[3], fields[i + 1]) == entry[1] then
        redis.call('HDEL', KEYS[3], fields[i + 1])
      end
    end
  end
  trimmed = redis.call('XTRIM', KEYS[2], 'MAXLEN', maxlen - 1)
  if trimmed > 0 then redis.call('INCRBY', KEYS[4], trimmed) end
end
local id = redis.call('XADD', KEYS[2], '*', 'eventId', ARGV[4], 'tenantId', ARGV[5], 'type', ARGV[6], 'event', ARGV[7],
  'error', ARGV[8], 'stack', ARGV[9], 'attempts', ARGV[10], 'movedAt', ARGV[11])
redis.call('HSET', KEYS[3], ARGV[4], id)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[2])
return {id, trimmed}
`;

/**
 * Re-publishes a DLQ entry to the main stream and removes it from the DLQ in one step, so a retry can neither
 * be lost nor happen twice. Returns the new main-stream id, or nil when the entry is no longer in the DLQ.
 * KEYS: main, dlq, dlq index. ARGV: dlq id, eventId, main maxlen, event json.
 */
export const REQUEUE_FROM_DLQ = `
if redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[1] then return false end
if #redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1]) == 0 then
  redis.call('HDEL', KEYS[3], ARGV[2])
  return false
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'event', ARGV[4])
redis.call('XDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[2])
return id
`;

/**
 * Deletes a DLQ entry and its index entry. Returns 1 when it was there.
 * KEYS: dlq, dlq index. ARGV: dlq id, eventId.
 */
export const DELETE_FROM_DLQ = `
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[1])
`;

/**
 * Removes a consumer from the group only if its last heartbeat is older than ARGV[3] (ms) and it holds no
 * pending entry, both checked atomically: deleting a consumer deletes its pending entries, which would lose
 * their events. KEYS: main, consumer heartbeats. ARGV: group, consumer, stale-before (ms).
 */
export const DELETE_IDLE_CONSUMER = `
local beat = redis.call('ZSCORE', KEYS[2], ARGV[2])
if beat and tonumber(beat) >= tonumber(ARGV[3]) then return 0 end
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`;

-- One command for the fast path's round trip (atomic, like MULTI, but a single command so
-- ioredis can auto-pipeline many concurrent requests into one write): count the request in
-- its rate-limit window, read the session state and, unless the entry is confirmed in memory,
-- the entry and the Redis clock. KEYS: rate-limit key, session key, entry key.
-- ARGV: window ms, read the session (1/0), read the entry (1/0).
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
local ttl = redis.call('PTTL', KEYS[1])
local session = ''
if ARGV[2] == '1' then session = redis.call('GET', KEYS[2]) or '' end
local entry = ''
local seconds = ''
local micros = ''
if ARGV[3] == '1' then
  entry = redis.call('GET', KEYS[3]) or ''
  local now = redis.call('TIME')
  seconds = now[1]
  micros = now[2]
end
return {count, ttl, session, entry, seconds, micros}

package redisacd

import "github.com/redis/go-redis/v9"

// The scripts share lib. ARGV[1] is always the key prefix; every reply
// starts with a code ('ok' or an error the Go side maps to acd's errors),
// the revision the change got ('0' for reads) and the Redis time in ms, so
// all nodes read one clock.
//
// Keys, under the prefix P:
//
//	P rev              counter: the store's revision
//	P agents           set: logged-in usernames
//	P a:<user>         hash: one agent (fields AF)
//	P free             hash: username → line of every agent available or
//	                   in a wrap-up that ends by itself, on a reachable
//	                   endpoint; what a snapshot reads in one command
//	P c:<id>           hash: one caller (fields CF)
//	P q:<queue>:all    zset: the queue's callers, waiting and offered
//	P q:<queue>:wait   zset: its waiting callers
//	P q:<queue>:last   string: the agent last offered a call (round-robin)
//
// Both zsets score a caller by the ms of their key (enqueue time less
// ahead) and name them "<seq, 20 digits>:<id>": equal scores sort by
// arrival. A re-queued caller goes back with the score and name it has in
// "all", so it is at its original place.
//
// An agent travels as one line, its AF fields joined by the unit separator
// (acd.CheckText keeps it out of free text): a reply of 200 agents is 200
// strings rather than 2,800. Every script that changes an agent calls
// index, which rewrites or drops the agent's line in "free".
const lib = `
local P = ARGV[1]
local AF = {'u','st','rs','since','until','login','calls','miss','last','ep','reach','call','att','sk'}
local CF = {'id','q','st','node','enq','ahead','seq','att','ring','offered','by','m'}
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- n writes a number as an integer string: Redis would otherwise turn a
-- Lua number into whatever its float formatting gives.
local function n(x) return string.format('%.0f', x) end
local function bump() return n(redis.call('INCR', P .. 'rev')) end
local function ak(u) return P .. 'a:' .. u end
local function ck(id) return P .. 'c:' .. id end
local function qk(q, part) return P .. 'q:' .. q .. ':' .. part end
local function idOf(m) return string.sub(m, 22) end
local function line(u)
  local f = redis.call('HMGET', ak(u), unpack(AF))
  if not f[1] then return false, f end
  for i = 1, #AF do if not f[i] then f[i] = '' end end
  return table.concat(f, '\31'), f
end
-- batch runs cmd on key with the names (and values) in list, 500 at a
-- time: unpack has a limit.
local function batch(cmd, key, list)
  local out = {}
  for i = 1, #list, 500 do
    local part = redis.call(cmd, key, unpack(list, i, math.min(i + 499, #list)))
    if type(part) == 'table' then
      for _, v in ipairs(part) do out[#out + 1] = v end
    end
  end
  return out
end
-- free reports whether fields f (AF) make the agent's line belong in
-- 'free': available, or in a wrap-up that ends by itself, and reachable.
local function free(f)
  return f[11] == '1' and (f[2] == 'available' or (f[2] == 'wrapup' and (tonumber(f[5]) or 0) > 0))
end
local function index(u)
  local l, f = line(u)
  if l and free(f) then
    redis.call('HSET', P .. 'free', u, l)
  else
    redis.call('HDEL', P .. 'free', u)
  end
  return l
end
-- offerFields reads st, until and reach (AF 2, 5, 11) out of a line in
-- one match.
local X = '([^\31]*)\31'
local S = '[^\31]*\31'
local offerPattern = '^' .. S .. X .. S .. S .. X .. S .. S .. S .. S .. S .. X
local function offerFields(l) return string.match(l, offerPattern) end
-- offerable takes st, reach, until: available, or a wrap-up that has run
-- out, on a reachable endpoint.
local function offerable(st, reach, untl, t)
  if reach ~= '1' then return false end
  if st == 'available' then return true end
  local u = tonumber(untl or '0') or 0
  return st == 'wrapup' and u > 0 and u <= t
end
local function caller(c)
  local f = redis.call('HMGET', c, unpack(CF))
  local pos = '0'
  if f[2] then
    local r = redis.call('ZRANK', qk(f[2], 'all'), f[12])
    if r then pos = n(r + 1) end
  end
  f[#CF + 1] = pos
  return f
end
local function split(s)
  local out = {}
  for x in string.gmatch(s or '', '[^,]+') do out[#out + 1] = x end
  return out
end
local function contains(list, first, x)
  for i = first, #list do if list[i] == x then return true end end
  return false
end
-- release frees the agents still ringing for offer id#att, but keep.
-- Each is read once and written once; their lines go to 'free' in one
-- write, as an answered ring-all call may release hundreds.
local function release(id, att, ring, keep, t)
  local out, adds, ts = {}, {}, n(t)
  for _, u in ipairs(split(ring)) do
    if u ~= keep then
      local l, f = line(u)
      if l and f[2] == 'ringing' and f[12] == id and f[13] == att then
        redis.call('HSET', ak(u), 'st', 'available', 'since', ts, 'call', '', 'att', '0')
        f[2], f[4], f[12], f[13] = 'available', ts, '', '0'
        if free(f) then
          adds[#adds + 1] = u
          adds[#adds + 1] = table.concat(f, '\31')
        end
        out[#out + 1] = u
      end
    end
  end
  batch('HSET', P .. 'free', adds)
  return out
end
local function forget(c, q, m)
  redis.call('DEL', c)
  redis.call('ZREM', qk(q, 'all'), m)
  redis.call('ZREM', qk(q, 'wait'), m)
end
`

// loginScript: ARGV user, endpoint, reach, state, reason, skills.
var loginScript = redis.NewScript(lib + `
local t = now()
local a = ak(ARGV[2])
if redis.call('EXISTS', a) == 0 then
  redis.call('HSET', a, 'u', ARGV[2], 'st', ARGV[5], 'rs', ARGV[6], 'since', n(t), 'until', '0',
    'login', n(t), 'calls', '0', 'miss', '0', 'last', '0', 'call', '', 'att', '0')
  redis.call('SADD', P .. 'agents', ARGV[2])
end
redis.call('HSET', a, 'ep', ARGV[3], 'reach', ARGV[4], 'sk', ARGV[7])
return {'ok', bump(), n(t), index(ARGV[2])}
`)

// logoutScript: ARGV user, then the states a logout is allowed from.
var logoutScript = redis.NewScript(lib + `
local a = ak(ARGV[2])
local st = redis.call('HGET', a, 'st')
if not st then return {'not_found'} end
if not contains(ARGV, 3, st) then return {'transition', st} end
redis.call('DEL', a)
redis.call('SREM', P .. 'agents', ARGV[2])
redis.call('HDEL', P .. 'free', ARGV[2])
return {'ok', bump(), n(now())}
`)

// setStateScript: ARGV user, to, reason, then the states to may be
// entered from. A wrap-up that ran out counts as available.
var setStateScript = redis.NewScript(lib + `
local t = now()
local a = ak(ARGV[2])
local f = redis.call('HMGET', a, 'st', 'rs', 'until')
if not f[1] then return {'not_found'} end
local st = f[1]
if st == 'wrapup' and offerable(st, '1', f[3], t) then
  st = 'available'
  redis.call('HSET', a, 'st', st, 'since', f[3], 'until', '0')
end
if not contains(ARGV, 5, st) then return {'transition', st} end
if st ~= ARGV[3] or f[2] ~= ARGV[4] then
  redis.call('HSET', a, 'st', ARGV[3], 'rs', ARGV[4], 'since', n(t), 'until', '0')
end
if ARGV[3] == 'available' then redis.call('HSET', a, 'miss', '0') end
return {'ok', bump(), n(t), index(ARGV[2])}
`)

// reachScript: ARGV user, '1' or '0'.
var reachScript = redis.NewScript(lib + `
local a = ak(ARGV[2])
if redis.call('EXISTS', a) == 0 then return {'not_found'} end
redis.call('HSET', a, 'reach', ARGV[3])
return {'ok', bump(), n(now()), index(ARGV[2])}
`)

// agentScript: ARGV user, or none for every agent.
var agentScript = redis.NewScript(lib + `
local t = n(now())
if ARGV[2] then
  if redis.call('EXISTS', ak(ARGV[2])) == 0 then return {'not_found'} end
  return {'ok', '0', t, (line(ARGV[2]))}
end
local out = {}
for _, u in ipairs(redis.call('SMEMBERS', P .. 'agents')) do out[#out + 1] = (line(u)) end
return {'ok', '0', t, out}
`)

// enqueueScript: ARGV id, queue, node, ahead ms.
var enqueueScript = redis.NewScript(lib + `
local c = ck(ARGV[2])
local cur = redis.call('HGET', c, 'q')
if cur then return {'queued', cur} end
local t = now()
local r = bump()
local m = string.format('%020d:', tonumber(r)) .. ARGV[2]
redis.call('HSET', c, 'id', ARGV[2], 'q', ARGV[3], 'st', 'waiting', 'node', ARGV[4], 'enq', n(t),
  'ahead', ARGV[5], 'seq', r, 'att', '0', 'ring', '', 'offered', '0', 'by', '', 'm', m)
local score = n(t - tonumber(ARGV[5]))
redis.call('ZADD', qk(ARGV[3], 'all'), score, m)
redis.call('ZADD', qk(ARGV[3], 'wait'), score, m)
return {'ok', r, n(t), caller(c)}
`)

// removeScript: ARGV id.
var removeScript = redis.NewScript(lib + `
local t = now()
local c = ck(ARGV[2])
local f = redis.call('HMGET', c, 'q', 'st', 'att', 'ring', 'm')
if not f[1] then return {'not_found'} end
local rel = {}
if f[2] == 'offered' then rel = release(ARGV[2], f[3], f[4], '', t) end
local cd = caller(c)
forget(c, f[1], f[5])
return {'ok', bump(), n(t), cd, rel}
`)

// callerScript: ARGV id.
var callerScript = redis.NewScript(lib + `
local c = ck(ARGV[2])
if redis.call('EXISTS', c) == 0 then return {'not_found'} end
return {'ok', '0', n(now()), caller(c)}
`)

// callersScript: ARGV queue.
var callersScript = redis.NewScript(lib + `
local t = now()
local out = {}
for i, m in ipairs(redis.call('ZRANGE', qk(ARGV[2], 'all'), 0, -1)) do
  local f = redis.call('HMGET', ck(idOf(m)), unpack(CF))
  f[#CF + 1] = n(i)
  out[i] = f
end
return {'ok', '0', n(t), out}
`)

// snapshotScript: ARGV queue. It answers the head waiting caller, the
// number waiting, the agent last offered, and the lines in "free".
var snapshotScript = redis.NewScript(lib + `
local t = now()
local head = redis.call('ZRANGE', qk(ARGV[2], 'wait'), 0, 0)
local h = {}
if head[1] then h = caller(ck(idOf(head[1]))) end
local nw = redis.call('ZCARD', qk(ARGV[2], 'wait'))
local last = redis.call('GET', qk(ARGV[2], 'last')) or ''
return {'ok', '0', n(t), h, n(nw), last, redis.call('HVALS', P .. 'free')}
`)

// claimScript: ARGV queue, caller, node, then the agents. The caller must
// be the queue's first waiting one; every agent still offerable rings.
var claimScript = redis.NewScript(lib + `
local t = now()
local q, id = ARGV[2], ARGV[3]
local c = ck(id)
local f = redis.call('HMGET', c, 'q', 'st', 'm', 'att')
if f[1] ~= q then return {'not_found'} end
if f[2] ~= 'waiting' then return {'not_head'} end
local head = redis.call('ZRANGE', qk(q, 'wait'), 0, 0)
if head[1] ~= f[3] then return {'not_head'} end
local att = n(tonumber(f[4]) + 1)
-- A ring-all claim may ring hundreds: whether each can be offered is read
-- from 'free' in one command, each agent is written once, and the lines
-- go back as read (the Go side marks them ringing).
local names, seen = {}, {}
for i = 5, #ARGV do
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    names[#names + 1] = ARGV[i]
  end
end
local ls = batch('HMGET', P .. 'free', names)
local got, lines, ts = {}, {}, n(t)
for i, u in ipairs(names) do
  local l = ls[i]
  if l then
    local st, untl, reach = offerFields(l)
    if offerable(st, reach, untl, t) then
      redis.call('HSET', ak(u), 'st', 'ringing', 'rs', '', 'since', ts, 'until', '0', 'call', id, 'att', att)
      got[#got + 1] = u
      lines[#lines + 1] = l
    end
  end
end
if #got == 0 then return {'busy'} end
batch('HDEL', P .. 'free', got)
redis.call('HSET', c, 'st', 'offered', 'att', att, 'ring', table.concat(got, ','), 'offered', n(t), 'by', ARGV[4])
redis.call('ZREM', qk(q, 'wait'), f[3])
redis.call('SET', qk(q, 'last'), got[1])
return {'ok', bump(), n(t), caller(c), lines}
`)

// answerScript: ARGV caller, attempt, agent.
var answerScript = redis.NewScript(lib + `
local t = now()
local id, att, u = ARGV[2], ARGV[3], ARGV[4]
local g = redis.call('HMGET', ak(u), 'st', 'call', 'att')
if g[1] ~= 'ringing' or g[2] ~= id or g[3] ~= att then return {'stale'} end
local c = ck(id)
local f = redis.call('HMGET', c, 'q', 'st', 'att', 'ring', 'm')
if f[2] ~= 'offered' or f[3] ~= att then return {'stale'} end
redis.call('HSET', ak(u), 'st', 'on_call', 'since', n(t), 'miss', '0')
redis.call('HINCRBY', ak(u), 'calls', 1)
local rel = release(id, att, f[4], u, t)
local cd = caller(c)
forget(c, f[1], f[5])
return {'ok', bump(), n(t), cd, index(u), rel}
`)

// declineScript: ARGV caller, attempt, agent, outcome, max misses, break
// reason. The caller waits again, with the score "all" keeps for them,
// once nobody rings for them.
var declineScript = redis.NewScript(lib + `
local t = now()
local id, att, u = ARGV[2], ARGV[3], ARGV[4]
local g = redis.call('HMGET', ak(u), 'st', 'call', 'att', 'miss')
if g[1] ~= 'ringing' or g[2] ~= id or g[3] ~= att then return {'stale'} end
redis.call('HSET', ak(u), 'st', 'available', 'since', n(t), 'call', '', 'att', '0')
if ARGV[5] == 'failed' then
  redis.call('HSET', ak(u), 'reach', '0')
else
  local miss = tonumber(g[4]) + 1
  redis.call('HSET', ak(u), 'miss', n(miss))
  local mx = tonumber(ARGV[6])
  if mx > 0 and miss >= mx then redis.call('HSET', ak(u), 'st', 'break', 'rs', ARGV[7]) end
end
local c = ck(id)
local f = redis.call('HMGET', c, 'q', 'st', 'att', 'ring', 'm')
local requeued, cd = '0', {}
if f[2] == 'offered' and f[3] == att then
  local left = {}
  for _, x in ipairs(split(f[4])) do if x ~= u then left[#left + 1] = x end end
  if #left == 0 then
    redis.call('HSET', c, 'st', 'waiting', 'ring', '', 'offered', '0', 'by', '')
    redis.call('ZADD', qk(f[1], 'wait'), redis.call('ZSCORE', qk(f[1], 'all'), f[5]), f[5])
    requeued = '1'
  else
    redis.call('HSET', c, 'ring', table.concat(left, ','))
  end
  cd = caller(c)
end
return {'ok', bump(), n(t), index(u), requeued, cd}
`)

// finishScript: ARGV caller, attempt, agent, wrap-up ms.
var finishScript = redis.NewScript(lib + `
local t = now()
local id, att, u = ARGV[2], ARGV[3], ARGV[4]
local g = redis.call('HMGET', ak(u), 'st', 'call', 'att')
if g[1] ~= 'on_call' or g[2] ~= id or g[3] ~= att then return {'stale'} end
local w = tonumber(ARGV[5])
if w > 0 then
  redis.call('HSET', ak(u), 'st', 'wrapup', 'until', n(t + w))
else
  redis.call('HSET', ak(u), 'st', 'available', 'until', '0')
end
redis.call('HSET', ak(u), 'since', n(t), 'last', n(t), 'call', '', 'att', '0')
return {'ok', bump(), n(t), index(u)}
`)

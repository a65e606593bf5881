-- bench/code_get.lua — wrk script for the health-code benchmark
-- (bench/code.sh): GET one path as many users in turn, each request with
-- the next bearer token of the list, so per-user caches on the server see
-- every user about equally often.  Environment:
--   CODE_TOKENS   file of bearer tokens, one a line (none: no header)
--   CODE_PATH     the path (default /api/v1/me/code)
--   CODE_STATUS   1: also count answers by status, and 503s carrying
--                 Retry-After (costs a Lua call per response, so the
--                 throughput runs leave it off and read wrk's own
--                 "Non-2xx or 3xx responses" line)
--   CODE_LABEL    the name the summary lines start with (default code)
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("CODE_PATH") or "/api/v1/me/code"
  local file = os.getenv("CODE_TOKENS")
  reqs = {}
  if file and #file > 0 then
    for l in io.lines(file) do
      if #l > 0 then
        reqs[#reqs + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. l })
      end
    end
  end
  if #reqs == 0 then reqs[1] = wrk.format("GET", path) end
  i = (tid * 7919) % #reqs -- the threads start at different users
  st200, st503, retry503, other = 0, 0, 0, 0
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

if os.getenv("CODE_STATUS") == "1" then
  function response(status, headers, body)
    if status == 200 then
      st200 = st200 + 1
    elseif status == 503 then
      st503 = st503 + 1
      if headers["Retry-After"] or headers["retry-after"] then retry503 = retry503 + 1 end
    else
      other = other + 1
    end
  end
end

function done(summary, latency, requests)
  local label = os.getenv("CODE_LABEL") or "code"
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("%s: %d requests in %.1f s, %.0f requests/s\n", label,
    summary.requests, secs, summary.requests / secs))
  io.write(string.format("%s latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", label,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("%s errors: connect %d read %d write %d timeout %d status %d\n", label,
    e.connect, e.read, e.write, e.timeout, e.status))
  if os.getenv("CODE_STATUS") == "1" then
    local a, b, c, d = 0, 0, 0, 0
    for _, t in ipairs(threads) do
      a = a + (t:get("st200") or 0)
      b = b + (t:get("st503") or 0)
      c = c + (t:get("retry503") or 0)
      d = d + (t:get("other") or 0)
    end
    io.write(string.format("%s status: 200 %d, 503 %d (with Retry-After %d), other %d\n",
      label, a, b, c, d))
  end
end

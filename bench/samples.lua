-- bench/samples.lua — wrk script for the sampling benchmark (bench/testing.sh):
-- POST /api/v1/samples, every request a person not yet sampled in the
-- campaign put into the next place of a tube of SAMPLES_POOL, so that no
-- request is refused for a reason of the data (tube full, sampled twice).
-- The first request of a tube carries campaign and site and binds it; so do
-- the others of the tube (one of them may arrive first; the same binding
-- again is accepted).  wrk thread k takes the ID numbers of the file
-- SAMPLES_PERSONS.k and tubes <SAMPLES_RUN><k><7 digits>; should its file
-- run out, the thread asks GET /healthz instead and counts it as
-- "exhausted".
-- Environment:
--   SAMPLES_TOKEN     bearer token of a sampler (PERM_SAMPLE) over the city
--   SAMPLES_PERSONS   files SAMPLES_PERSONS.1, .2, ... (one a wrk thread, no
--                     ID number in two) of ID numbers, one a line
--   SAMPLES_CAMPAIGN  campaign id
--   SAMPLES_SITES     site codes, comma-separated (tube i -> site i mod n)
--   SAMPLES_RUN       tube prefix, unique per run (letters and digits)
--   SAMPLES_POOL      persons per tube (default 10)
--   SAMPLES_LABEL     the name the summary lines start with (default samples)
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  persons = {}
  for l in io.lines(os.getenv("SAMPLES_PERSONS") .. "." .. tid) do
    if #l > 0 then persons[#persons + 1] = l end
  end
  sites = {}
  for s in string.gmatch(os.getenv("SAMPLES_SITES"), "[^,]+") do sites[#sites + 1] = s end
  campaign = os.getenv("SAMPLES_CAMPAIGN")
  run = os.getenv("SAMPLES_RUN") or "BT"
  pool = tonumber(os.getenv("SAMPLES_POOL") or "10")
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("SAMPLES_TOKEN"),
    ["Content-Type"] = "application/json",
  }
  healthz = wrk.format("GET", "/healthz")
  n = 0
  st201, st200, st503, retry503, other, exhausted = 0, 0, 0, 0, 0, 0
  firstbad = ""
end

function request()
  n = n + 1
  if n > #persons then
    exhausted = exhausted + 1
    return healthz
  end
  local t = math.floor((n - 1) / pool)
  local body = string.format(
    '{"tube":"%s%d%07d","id_number":"%s","campaign":%s,"site":"%s"}',
    run, tid, t, persons[n], campaign, sites[t % #sites + 1])
  return wrk.format("POST", "/api/v1/samples", headers, body)
end

function response(status, headers, body)
  if status == 201 then
    st201 = st201 + 1
  elseif status == 200 then
    -- a retry answered 200; /healthz after a slice ran out is not one
    if body and string.find(body, '"retry"', 1, true) then st200 = st200 + 1 end
  elseif status == 503 then
    st503 = st503 + 1
    if headers["Retry-After"] or headers["retry-after"] then retry503 = retry503 + 1 end
  else
    other = other + 1
    if #firstbad == 0 then firstbad = status .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local label = os.getenv("SAMPLES_LABEL") or "samples"
  local secs = summary.duration / 1e6
  local e = summary.errors
  local a, b, c, d, f, x, bad = 0, 0, 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    a = a + (t:get("st201") or 0)
    b = b + (t:get("st200") or 0)
    c = c + (t:get("st503") or 0)
    d = d + (t:get("retry503") or 0)
    f = f + (t:get("other") or 0)
    x = x + (t:get("exhausted") or 0)
    if #bad == 0 then bad = t:get("firstbad") or "" end
  end
  io.write(string.format("%s: %d requests in %.2f s, %.0f requests/s\n", label,
    summary.requests, secs, summary.requests / secs))
  io.write(string.format("%s latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", label,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("%s errors: connect %d read %d write %d timeout %d status %d\n", label,
    e.connect, e.read, e.write, e.timeout, e.status))
  io.write(string.format("%s status: 201 %d, 200 %d, 503 %d (with Retry-After %d), other %d, exhausted %d\n",
    label, a, b, c, d, f, x))
  if #bad > 0 then io.write(string.format("%s first refusal: %s\n", label, bad)) end
end

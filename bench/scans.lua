-- bench/scans.lua — wrk script for the scan ingest benchmark (bench/scans.sh).
-- Every request is a new scan: a unique scan id (run prefix, wrk thread,
-- counter), a person and a venue drawn from the files the driver wrote, and
-- a normal temperature.  Environment:
--   SCANS_TOKEN     bearer token of a venue device whose scope covers the city
--   SCANS_PERSONS   file of ID numbers, one a line
--   SCANS_VENUES    file of signed venue payloads, one a line
--   SCANS_RUN       prefix making scan ids unique across runs
local function lines(path)
  local t = {}
  for l in io.lines(path) do if #l > 0 then t[#t + 1] = l end end
  return t
end

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  persons = lines(os.getenv("SCANS_PERSONS"))
  venues = lines(os.getenv("SCANS_VENUES"))
  run = os.getenv("SCANS_RUN") or "r"
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("SCANS_TOKEN"),
    ["Content-Type"] = "application/json",
  }
  n = 0
  math.randomseed(tid * 7919 + #persons)
  non201 = 0
end

function request()
  n = n + 1
  local body = string.format(
    '{"scan_id":"%s-%d-%d","venue":"%s","id_number":"%s","temperature":36.%d}',
    run, tid, n, venues[math.random(#venues)], persons[math.random(#persons)], n % 10)
  return wrk.format("POST", "/api/v1/scans", headers, body)
end

function response(status, headers, body)
  if status ~= 201 then non201 = non201 + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non201") or 0) end
  local secs = summary.duration / 1e6
  io.write(string.format("scans: %d requests in %.1f s, %d not 201\n", summary.requests, secs, bad))
  io.write(string.format("durable scans/s: %.0f\n", (summary.requests - bad) / secs))
  io.write(string.format("latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end

-- Loaded by wrk (bench/lib/wrk.ts): every connection sends the same raw request, repeated
-- `depth` times back to back. wrk counts the requests in what request() returns and waits for
-- that many responses before writing again, which is HTTP/1.1 pipelining at a fixed depth.
-- args: [1] path of a file holding one raw request, [2] depth.
local batch

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local one = f:read("*a")
  f:close()
  batch = string.rep(one, tonumber(args[2]) or 1)
end

function request()
  return batch
end

-- wrk 4.1's latency:percentile() returns 0 for high percentiles once pipelining is on (its count
-- and its buckets disagree), so p99 is computed here from the distinct values and their counts.
local function percentile(latency, p)
  local total = 0
  for i = 1, #latency do
    local _, count = latency(i)
    total = total + count
  end
  local rank, seen = total * p / 100, 0
  for i = 1, #latency do
    local value, count = latency(i)
    seen = seen + count
    if seen >= rank then return value end
  end
  return latency.max
end

-- One machine-readable line for the harness; latencies are in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, percentile(latency, 99), latency.mean))
end

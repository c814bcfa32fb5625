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

-- Statistics of the latencies wrk really measured. wrk 4.1 "corrects" its histogram for
-- coordinated omission by adding synthetic samples; with pipelining they land below the recorded
-- minimum, where latency:percentile() and latency.mean never look (while still counting them), so
-- high percentiles come back 0 and the mean too low. The recorded share q (percent) of all samples is
-- found by bisection, as percentile(x) is non-zero exactly for x up to q; percentile(q p / 100) is
-- then the p-th percentile of the recorded samples. Each call walks the histogram once, in C:
-- iterating latency(i) from Lua instead is quadratic and can take minutes.
local function recorded_share(latency)
  if latency:percentile(100) ~= 0 then return 100 end
  local lo, hi = 0, 100
  for _ = 1, 40 do
    local mid = (lo + hi) / 2
    if latency:percentile(mid) ~= 0 then lo = mid else hi = mid end
  end
  return lo
end

-- One machine-readable line for the harness; latencies are in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  local q = recorded_share(latency)
  local p99, mean = latency.max, latency.mean
  if q > 0 then
    p99 = latency:percentile(q * 99 / 100)
    mean = mean * 100 / q
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p99_us":%d,"mean_us":%.1f,"recorded_share":%.3f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, p99, mean, q))
end

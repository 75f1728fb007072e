-- wrk script for scripts/bench_serve.sh: sends the requests listed in a file, in turn, and
-- prints one JSON line of results at the end.
--
--   wrk -c 50 -t 2 -d 20s --latency --timeout 30s -s wrk_rotate.lua URL -- REQUESTS_FILE
--
-- REQUESTS_FILE holds one request a line: METHOD<TAB>PATH or METHOD<TAB>PATH<TAB>BODY.
-- Headers given to wrk with -H go with every request. Each thread starts at a different
-- line, so that concurrent connections do not all ask the same question at the same moment.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

local reqs = {}
local next_req = 0

function init(args)
  local file = args[1]
  if not file then
    error("usage: wrk ... -s wrk_rotate.lua URL -- REQUESTS_FILE")
  end
  for line in io.lines(file) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method then
      if body == "" then
        body = nil
      end
      reqs[#reqs + 1] = wrk.format(method, path, nil, body)
    end
  end
  if #reqs == 0 then
    error("no requests in " .. file)
  end
  next_req = ((thread_no or 1) - 1) * math.floor(#reqs / 2 + 0.5)
end

function request()
  next_req = next_req % #reqs + 1
  return reqs[next_req]
end

-- Latencies are in microseconds; printed in milliseconds.
function done(summary, latency, _)
  local ms = function(us)
    return string.format("%.2f", us / 1000)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"mean_ms":%s,"p50_ms":%s,"p90_ms":%s,'
      .. '"p99_ms":%s,"p999_ms":%s,"max_ms":%s,"bytes":%d,"errors":{"connect":%d,"read":%d,'
      .. '"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests,
    summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    ms(latency.mean),
    ms(latency:percentile(50)),
    ms(latency:percentile(90)),
    ms(latency:percentile(99)),
    ms(latency:percentile(99.9)),
    ms(latency.max),
    summary.bytes,
    e.connect,
    e.read,
    e.write,
    e.status,
    e.timeout
  ))
end

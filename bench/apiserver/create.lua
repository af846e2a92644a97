-- POST a new ConfigMap per request; names are unique per wrk thread.
local next_thread = 0
function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end
local n = 0
local token = os.getenv("BENCH_TOKEN")
function request()
  n = n + 1
  local body = string.format(
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"load-%d-%d","labels":{"bench":"load"}},"data":{"k":"v"}}',
    tid, n)
  return wrk.format("POST", "/api/v1/namespaces/bench-load/configmaps",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d errors=%d seconds=%.3f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(99) / 1000))
end

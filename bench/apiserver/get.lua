-- GET one of the 1,000 pre-created ConfigMaps, round robin.
local token = os.getenv("BENCH_TOKEN")
local n = 0
function request()
  n = (n + 1) % 1000
  return wrk.format("GET", string.format("/api/v1/namespaces/bench/configmaps/get-%d", n),
    {["Authorization"] = "Bearer " .. token})
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d errors=%d seconds=%.3f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(99) / 1000))
end

-- LIST the 5,000 ConfigMaps labelled bench=list (mixed with others that don't match).
local token = os.getenv("BENCH_TOKEN")
function request()
  return wrk.format("GET", "/api/v1/namespaces/bench/configmaps?labelSelector=bench%3Dlist",
    {["Authorization"] = "Bearer " .. token})
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d errors=%d seconds=%.3f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(99) / 1000))
end

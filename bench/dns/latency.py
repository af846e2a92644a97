"""Reads `dnsperf -v` output on stdin; prints: answered, p50 and p99 latency (ms), answers
other than NOERROR, timeouts. Queries interrupted by the end of the run ("I") are left out."""
import sys

lat, bad, timeouts = [], 0, 0
for line in sys.stdin:
    # "> NOERROR svc-1.ns-0.svc.cluster.local A 0.000123", "> T svc-2.ns-0... A"
    if not line.startswith("> "):
        continue
    parts = line.split()
    if parts[1] == "I":
        continue
    if parts[1] == "T":
        timeouts += 1
        continue
    if parts[1] != "NOERROR":
        bad += 1
    lat.append(float(parts[-1]))
lat.sort()
if not lat:
    sys.exit("no answers")
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
print(len(lat), f"{pick(0.5):.3f}", f"{pick(0.99):.3f}", bad, timeouts)

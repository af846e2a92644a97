"""Starts a command and prints the seconds until https://HOST:PORT/readyz answers 200."""
import os, ssl, subprocess, sys, time, urllib.request

url, ca, token, log = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
cmd = sys.argv[5:]
# timing only: trust is checked by the load phases, which use the CA
ctx = ssl._create_unverified_context()
t0 = time.monotonic()
proc = subprocess.Popen(cmd, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
while True:
    if proc.poll() is not None:
        sys.exit(f"process exited with {proc.returncode}; see {log}")
    try:
        req = urllib.request.Request(url + "/readyz", headers={"Authorization": "Bearer " + token})
        if urllib.request.urlopen(req, context=ctx, timeout=1).status == 200:
            break
    except Exception:
        pass
    if time.monotonic() - t0 > 120:
        sys.exit("not ready after 120 s")
    time.sleep(0.002)
print(f"{time.monotonic() - t0:.4f} {proc.pid}")

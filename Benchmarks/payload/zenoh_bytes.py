#!/usr/bin/env python3
"""1 MiB Zenoh puts, for the payload benchmark and campus tests (the library rmw_zenoh links).
  zenoh_bytes.py router                  a router from ZENOH_ROUTER_CONFIG_URI
  zenoh_bytes.py pub RATE SECONDS        a session from ZENOH_SESSION_CONFIG_URI: waits up to 20 s
                                         for a subscriber, puts 1 MiB at RATE Hz for SECONDS,
                                         prints "sent N", lingers 3 s
  zenoh_bytes.py sub RATE SECONDS        prints "heard: SEQ" for each put, exits after SECONDS
Run under `teamwire exec` so the team's Zenoh files apply."""
import os
import sys
import time

import zenoh

KEY = "teamwire/image"
SIZE = 1 << 20


def main():
    role = sys.argv[1]
    zenoh.init_log_from_env_or("error")
    var = "ZENOH_ROUTER_CONFIG_URI" if role == "router" else "ZENOH_SESSION_CONFIG_URI"
    session = zenoh.open(zenoh.Config.from_file(os.environ[var]))
    print("open", role, session.zid(), flush=True)
    if role == "router":
        while True:
            time.sleep(3600)
    rate, seconds = float(sys.argv[2]), float(sys.argv[3])
    if role == "sub":
        sub = session.declare_subscriber(
            KEY, lambda s: print("heard:", bytes(s.payload.to_bytes()[:8]).rstrip(b"\0").decode(), len(s.payload), flush=True))
        time.sleep(seconds)
        sub.undeclare()
        return
    pub = session.declare_publisher(KEY)
    end = time.monotonic() + 20
    while not pub.matching_status.matching and time.monotonic() < end:
        time.sleep(0.1)
    print("matched", pub.matching_status.matching, flush=True)
    body = bytearray(SIZE)
    start, n = time.monotonic(), 0
    while n < int(rate * seconds):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        n += 1
        body[:8] = str(n).encode().ljust(8, b"\0")
        pub.put(bytes(body))
    print("sent", n, "in", round(time.monotonic() - start, 2), "s", flush=True)
    time.sleep(3)


if __name__ == "__main__":
    main()

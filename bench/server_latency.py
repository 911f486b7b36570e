#!/usr/bin/env python3
"""Server-side latency of a benchmark run, from two scrapes of GET /metrics.

    server_latency.py BEFORE AFTER

BEFORE and AFTER are the Prometheus text the app answered before and after the run. The route
whose request count grew most is the one the run loaded; prints its p50 and p99 (linear
interpolation inside the bucket, as Prometheus' histogram_quantile does) as
`srv_route=… srv_requests=… srv_p50_ms=… srv_p99_ms=…`.
"""
import re
import sys

LINE = re.compile(r'^tanggap_http_request_duration_seconds_bucket\{method="([^"]*)",route="([^"]*)",le="([^"]*)"\} (\d+)$')


def buckets(path):
    found = {}
    with open(path) as text:
        for line in text:
            m = LINE.match(line.strip())
            if m:
                method, route, le, count = m.groups()
                bound = float("inf") if le == "+Inf" else float(le)
                found.setdefault((method, route), {})[bound] = int(count)
    return found


def quantile(q, cumulative):
    """cumulative: [(upper bound, count ≤ bound)] in order."""
    total = cumulative[-1][1]
    rank = q * total
    lower, below = 0.0, 0
    for bound, count in cumulative:
        if count >= rank:
            if bound == float("inf"):
                return lower
            share = (rank - below) / (count - below) if count > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower


def main():
    before, after = buckets(sys.argv[1]), buckets(sys.argv[2])
    deltas = {}
    for key, counts in after.items():
        old = before.get(key, {})
        deltas[key] = sorted((b, c - old.get(b, 0)) for b, c in counts.items())
    key = max(deltas, key=lambda k: deltas[k][-1][1])
    run = deltas[key]
    total = run[-1][1]
    if total == 0:
        print("srv_requests=0")
        return
    print(f"srv_route={key[0]}:{key[1]} srv_requests={total} "
          f"srv_p50_ms={quantile(0.5, run) * 1e3:.2f} srv_p99_ms={quantile(0.99, run) * 1e3:.2f}")


if __name__ == "__main__":
    main()

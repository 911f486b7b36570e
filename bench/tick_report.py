"""Reads a `tanggap tick` report (JSON on stdin) and prints the send and scan rates."""
import json
import sys

label = sys.argv[1] if len(sys.argv) > 1 else "tick"
report = json.load(sys.stdin)
sent, send_ms, scan_ms = report["mail"]["sent"], report["send_ms"], report["scan_ms"]
print(
    f"{label}: {sent} mails in {send_ms / 1000:.2f} s = {sent * 1000 / max(send_ms, 1):.0f} mails/s"
    f" (failed {report['mail']['failed']}); scan {scan_ms} ms for"
    f" {report['overdue_alerts']} overdue alerts, {report['target_breaches']} breaches"
    + (f" ({report['scan_cpu_ms']:.0f} ms of CPU)" if "scan_cpu_ms" in report else "")
    + (f"; longest write lock {report['longest_write_ms']:.1f} ms" if "longest_write_ms" in report else "")
)

#!/usr/bin/env python3
"""Writes an audit log of RECORDS records (whole events: a few more) for benches/audit_commands.sh.

The records are real ones: the execve events (SYSCALL, EXECVE split and
hex-encoded arguments, CWD, PATH, PROCTITLE, ENRICHED tails) of the
fixture made by a real auditd (player/src/audit/testdata/, see its
README), repeated in turn under new serials, their times spread evenly from
START to END (ms since the epoch), one event in EVERY in audit session SES
and the others in other sessions.

Usage: gen_audit.py FIXTURE RECORDS START END SES EVERY > audit.log
"""

import re
import sys

STAMP = re.compile(rb"msg=audit\(\d+\.\d+:(\d+)\)")
SES = re.compile(rb"\bses=\d+")


def events(fixture):
    """The fixture's execve events, each a list of its lines."""
    by_serial = {}
    order = []
    with open(fixture, "rb") as f:
        for line in f:
            m = STAMP.search(line)
            if not m:
                continue
            serial = m.group(1)
            if serial not in by_serial:
                by_serial[serial] = []
                order.append(serial)
            by_serial[serial].append(line.rstrip(b"\n"))
    return [
        by_serial[s]
        for s in order
        if any(l.startswith(b"type=SYSCALL") and b" syscall=59 " in l for l in by_serial[s])
    ]


def main():
    fixture, records, start, end, ses, every = sys.argv[1:]
    records, start, end, ses, every = int(records), int(start), int(end), int(ses), int(every)
    templates = events(fixture)
    out = sys.stdout.buffer
    per_event = sum(len(e) for e in templates) / len(templates)
    total_events = max(1, int(records / per_event))
    written = 0
    n = 0
    while written < records:
        event = templates[n % len(templates)]
        t = start + (end - start) * n // total_events
        stamp = b"msg=audit(%d.%03d:%d)" % (t // 1000, t % 1000, 1000 + n)
        s = ses if n % every == 0 else 100000 + n % 5000
        for line in event:
            line = STAMP.sub(stamp, line, count=1)
            line = SES.sub(b"ses=%d" % s, line, count=1)
            out.write(line + b"\n")
            written += 1
        n += 1


if __name__ == "__main__":
    main()

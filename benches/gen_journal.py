#!/usr/bin/env python3
"""Writes a journal export stream of N recordings made from real ones.

Usage: gen_journal.py N TEMPLATE.export... > out.export
       (then: systemd-journal-remote -o DIR/x.journal - < out.export)

Each TEMPLATE is `journalctl -o export TLOG_REC=...` of one real recording
(termtape's journal writer, tlog-rec, ...). Recording i is a copy of
template i % len(templates) under a new id (TLOG_REC and the message's
"rec"), one second after the one before (receive times, the message's
"time"); every other field, _UID and TERMTAPE_TOTALS included, stays as the
real recorder wrote it. Deterministic: the same templates give the same
stream.
"""

import re
import struct
import sys

TIME = re.compile(rb'"time":([0-9]+)\.([0-9]{3})')


def entries(data):
    """The entries of an export stream: lists of (name, value) bytes."""
    at, entry = 0, []
    while at < len(data):
        nl = data.index(b"\n", at)
        line = data[at:nl]
        if not line:
            if entry:
                yield entry
            entry, at = [], nl + 1
            continue
        if b"=" in line:
            name, value = line.split(b"=", 1)
            entry.append((name, value))
            at = nl + 1
        else:
            (size,) = struct.unpack("<Q", data[nl + 1 : nl + 9])
            entry.append((line, data[nl + 9 : nl + 9 + size]))
            at = nl + 9 + size + 1
    if entry:
        yield entry


def write(out, entry):
    for name, value in entry:
        if b"\n" in value:
            out.write(name + b"\n" + struct.pack("<Q", len(value)) + value + b"\n")
        else:
            out.write(name + b"=" + value + b"\n")
    out.write(b"\n")


def main():
    count = int(sys.argv[1])
    templates = []
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            es = [e for e in entries(f.read()) if dict(e).get(b"TLOG_REC")]
        if not es:
            sys.exit(f"{path}: no entries with TLOG_REC")
        templates.append(es)
    out = sys.stdout.buffer
    base = 1_700_000_000_000_000  # µs: 2023-11-14
    for i in range(count):
        template = templates[i % len(templates)]
        old = dict(template[0])[b"TLOG_REC"]
        new = b"gen-%08d" % i
        t0 = int(dict(template[0])[b"__REALTIME_TIMESTAMP"])
        shift = base + i * 1_000_000 - t0
        for e in template:
            fields = []
            for name, value in e:
                if name == b"__CURSOR":
                    continue
                if name == b"TLOG_REC":
                    value = new
                elif name in (b"__REALTIME_TIMESTAMP", b"_SOURCE_REALTIME_TIMESTAMP"):
                    value = b"%d" % (int(value) + shift)
                elif name == b"__MONOTONIC_TIMESTAMP":
                    value = b"%d" % (int(value) + i * 1_000_000)
                elif name == b"MESSAGE":
                    value = value.replace(b'"rec":"' + old + b'"', b'"rec":"' + new + b'"')

                    def moved(m):
                        ms = int(m.group(1)) * 1000 + int(m.group(2)) + shift // 1000
                        return b'"time":%d.%03d' % (ms // 1000, ms % 1000)

                    value = TIME.sub(moved, value, count=1)
                fields.append((name, value))
            write(out, fields)


main()

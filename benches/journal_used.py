#!/usr/bin/env python3
"""Bytes in use in systemd journal files: the end of each file's last object
(the header's tail_object_offset plus that object's size), summed over the
files given. Unlike the file size (grown in 8 MiB steps) or `du`, this is
what journald has written. Usage: journal_used.py FILE..."""
import struct
import sys

total = 0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        header = f.read(272)
        if header[:8] != b"LPKSHHRH":
            sys.exit(f"{path}: not a journal file")
        # signature 8, flags 4+4, state 1, reserved 7, four ids of 16,
        # then header_size, arena_size, data/field hash table offset and
        # size: tail_object_offset is the eighth u64 after the ids.
        tail = struct.unpack_from("<Q", header, 24 + 64 + 6 * 8)[0]
        f.seek(tail + 8)
        size = struct.unpack("<Q", f.read(8))[0]
        total += tail + ((size + 7) & ~7)
print(total)

"""Writes MB megabytes of full-screen redraws of an 80x24 screen (colour,
cursor addressing) on standard output: `python3 benches/redraws.py MB`.
Used by the seek benchmarks (seek_vs_tlog.sh, web_seek.sh)."""
import sys

target = int(sys.argv[1]) * 1000 * 1000
out = sys.stdout.buffer
n = frame = 0
while n < target:
    parts = ["\x1b[H"]
    for row in range(24):
        colour = 31 + (frame + row) % 7
        text = f"frame {frame:08d} row {row:02d} " + "#" * ((frame * 7 + row) % 50)
        parts.append(f"\x1b[{row + 1};1H\x1b[{colour}m{text}\x1b[0m\x1b[K")
    chunk = "".join(parts).encode()
    out.write(chunk)
    n += len(chunk)
    frame += 1

"""Prints benches/web/seek.mjs's results (JSON on stdin) as a Markdown table."""
import json
import sys


def ms(x):
    return "-" if x is None else f"{x:.0f} ms"


def replayed(v):
    if v.get("ms") is not None:
        return ms(v["ms"])
    if v.get("capped"):
        return "> {:.0f} s".format(v["capped"] / 1000)
    return "failed: " + str(v.get("error"))[:80]


results = json.load(sys.stdin)["results"]
print(
    "| recording | seek: middle | near end | start | Cockpit's way: middle | near end | start "
    "| ratio middle | ratio near end | heap after seeks | heap playing 16x | heap after Cockpit's way |"
)
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for x in results:
    s, c = x["seek_ms"], x["replay_from_start"]

    def ratio(k):
        v = c[k].get("ms")
        return "{:.0f}x".format(v / s[k]["median"]) if v else "-"

    print(
        f"| {x['label']} | {ms(s['middle']['median'])} | {ms(s['near end']['median'])} "
        f"| {ms(s['start']['median'])} | {replayed(c['middle'])} | {replayed(c['near end'])} "
        f"| {replayed(c['start'])} | {ratio('middle')} | {ratio('near end')} "
        f"| {x['heap_after_seeks_mb']:.0f} MB | {x['heap_playing_mb']:.0f} MB "
        f"| {x['heap_after_replays_mb']:.0f} MB |"
    )

"""A classic AGI script written with pyst2 (a third-party AGI library), run by the emulator's
tests through a pipe as Asterisk's AGI() runs it. It writes what it saw as JSON to the file
named by its first argument."""

import json
import sys
import time

from asterisk.agi import AGI

agi = AGI()  # reads the environment from stdin; commands on stdout, replies on stdin
seen = {"env": agi.env}
agi.answer()
seen["welcome"] = agi.stream_file("aircharge/welcome")
seen["menu"] = agi.stream_file("aircharge/menu", "12")
seen["number"] = agi.get_data("aircharge/ask.number", timeout=5000, max_digits=11)
seen["say"] = agi.say_digits("123")
agi.verbose("done")
agi.hangup()
for _ in range(200):  # Asterisk sends SIGHUP once the channel is hung up
    if agi._got_sighup:
        break
    time.sleep(0.01)
seen["sighup"] = agi._got_sighup
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(seen, out, ensure_ascii=False)

#!/usr/bin/env python3
"""Dumps every MIDI file named on stdin (one path per line) as mido reads
it, one JSON line per file: the reference the kmidi-groove corpus test
compares its own reading with, event for event.

Each track is a list of events [tick, kind, ...] with absolute ticks:
  ["ch", status, data...]   a channel message (status byte, data bytes)
  ["sysex", [bytes]]        sysex or escape data, without F0 and a final F7
  ["meta", type, [bytes]]   a meta event's type byte and raw data
Files mido cannot read are listed with "error" and skipped by the test.
"""
import json
import sys

import mido


def meta_raw(msg):
    raw = msg.bytes()  # FF type varlen-length data
    assert raw[0] == 0xFF
    i = 2
    while raw[i] & 0x80:
        i += 1
    return raw[1], list(raw[i + 1:])


def dump(path):
    mid = mido.MidiFile(path)
    tracks = []
    for track in mid.tracks:
        tick = 0
        events = []
        for msg in track:
            tick += msg.time
            if msg.is_meta:
                kind, data = meta_raw(msg)
                events.append([tick, "meta", kind, data])
            elif msg.type == "sysex":
                events.append([tick, "sysex", list(msg.data)])
            else:
                raw = msg.bytes()
                events.append([tick, "ch"] + list(raw))
        tracks.append(events)
    return {"type": mid.type, "ticks_per_beat": mid.ticks_per_beat, "tracks": tracks}


for line in sys.stdin:
    path = line.strip()
    if not path:
        continue
    try:
        out = {"path": path, **dump(path)}
    except Exception as e:  # noqa: BLE001 - every reader error is a skip
        out = {"path": path, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))

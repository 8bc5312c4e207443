"""hallqd speaks its calls: the real daemon with voice.output = dir:FOLDER
(each announcement a WAV file, paced in real time, and a line in
FOLDER/voice.log), checked against the voice pack built with hallq.

- a call produces a WAV whose samples are exactly the clips of
  "请 A001 号 到 1 号窗口 办理", twice, with the configured silences; its
  duration (sox --i -D) and format (soxi) are as expected, and it holds as
  many separate stretches of sound as repetitions;
- two quick calls at two windows play in the calls' order, without overlap;
- a recall is announced (recall=1), with the same words;
- after SIGHUP, language zh+en adds the English sentence.

Needs sox (tools/debian-packages.txt). HQ_VOICE_PACK = the built pack.
"""
import json
import os
import signal
import subprocess
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(__file__))
from hallq import BASE_CONFIG, BUILD, Failures, Hall  # noqa: E402

PACK = os.environ.get("HQ_VOICE_PACK", os.path.join(BUILD, "voice"))
RATE = 16000
GAP_MS, PAUSE_MS = 60, 700


def clip(name):
    with wave.open(os.path.join(PACK, name + ".wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2), name
        return w.readframes(w.getnframes())


def silence(ms):
    return b"\0\0" * (ms * RATE // 1000)


def sentence(words):
    return silence(GAP_MS).join(clip(w) for w in words)


def zh_call(label, window_words):
    return (["zh/qing"] + ["zh/" + c for c in label] + ["zh/hao", "zh/dao"] + window_words
            + ["zh/hao", "zh/chuangkou", "zh/banli"])


def en_call(label, window_words):
    return ["en/number"] + ["en/" + c for c in label] + ["en/please_go_to", "en/window"] + window_words


def read_log(folder):
    try:
        with open(os.path.join(folder, "voice.log"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split()
        rec = {"id": int(parts[0]), "start": int(parts[1]), "end": int(parts[2])}
        rec.update(p.split("=", 1) for p in parts[3:])
        out.append(rec)
    return out


def wait_log(folder, n, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = read_log(folder)
        if len(recs) >= n:
            return recs
        time.sleep(0.1)
    return read_log(folder)


def samples(path):
    with wave.open(path, "rb") as w:
        return w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())


def sound_stretches(pcm, min_silence_ms=500, threshold=300):
    """Stretches of sound separated by at least min_silence_ms of quiet."""
    n = len(pcm) // 2
    vals = memoryview(pcm).cast("h")
    quiet_needed = min_silence_ms * RATE // 1000
    stretches, in_sound, quiet = 0, False, 0
    for i in range(n):
        if abs(vals[i]) > threshold:
            if not in_sound:
                stretches += 1
                in_sound = True
            quiet = 0
        elif in_sound:
            quiet += 1
            if quiet >= quiet_needed:
                in_sound = False
    return stretches


def sox_duration(path):
    out = subprocess.run(["sox", "--i", "-D", path], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def soxi(flag, path):
    return subprocess.run(["soxi", flag, path], capture_output=True, text=True, check=True).stdout.strip()


def reload(T, h):
    """SIGHUP with the new config; if hallqd did not survive it, say so and
    start it again on the same config so the voice checks still run."""
    h.write_config()
    h.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    if not T.check(h.alive(), "hallqd survives SIGHUP"):
        h.stop()
        h.start()


def main():
    T = Failures("test_voice")
    T.check(os.path.isfile(os.path.join(PACK, "zh", "qing.wav")), f"voice pack built at {PACK}")
    config = json.loads(json.dumps(BASE_CONFIG))
    config["voice"] = {"enabled": True, "output": "dir:voice-out", "repeat": 2, "language": "zh",
                       "gap_ms": GAP_MS, "pause_ms": PAUSE_MS, "max_lag_s": 120}
    with Hall(config) as h:
        out = os.path.join(h.dir, "voice-out")
        st = h.status()
        T.eq(st.get("voice", {}).get("enabled"), True, "status says voice is on")
        T.eq(st["voice"]["output"], "dir:" + out, "output made absolute against the config's folder")
        for n, staff in ((1, "1001"), (2, "1002"), (3, "1003")):
            T.eq(h.window(n, "login", {"staff": staff})[0], 200, f"login window {n}")
        for _ in range(3):
            T.eq(h.issue("A")[0], 201, "issue A")

        # ---- one call, said twice
        st, body = h.window(1, "call-next")
        T.eq((st, body["ticket"]["number"]), (200, "A001"), "window 1 calls A001")
        recs = wait_log(out, 1)
        T.eq(len(recs), 1, "one announcement logged")
        if recs:
            r = recs[0]
            T.eq((r["window"], r["label"], r["recall"], r["reps"]), ("1", "A001", "0", "2/2"),
                 "log line of the call")
            path = os.path.join(out, r["file"])
            rate, ch, pcm = samples(path)
            one = sentence(zh_call("A001", ["zh/1"]))
            want = one + silence(PAUSE_MS) + one
            T.eq((rate, ch), (RATE, 1), "16 kHz mono")
            T.eq(len(pcm), len(want), "length = clips + gaps, twice, + the pause")
            T.check(pcm == want, "the samples are exactly the clips of 请 A001 号 到 1 号窗口 办理, twice")
            T.eq(soxi("-r", path), "16000", "soxi: rate")
            T.eq(soxi("-c", path), "1", "soxi: channels")
            dur = sox_duration(path)
            T.check(abs(dur - len(want) / 2 / RATE) < 0.002, f"sox duration {dur:.3f} s")
            T.check(2.0 < dur < 20.0, f"a plausible spoken length: {dur:.3f} s")
            T.eq(sound_stretches(pcm), 2, "two separate stretches of sound (the repetitions)")
            # paced like a sound card: it took as long as it lasts
            T.check(r["end"] - r["start"] >= int(dur * 1000) - 20, "played in real time")

        # ---- fewer repetitions from now on: SIGHUP applies repeat at once
        h.config["voice"]["repeat"] = 1
        reload(T, h)

        # ---- two quick calls, two windows: in order, never overlapping
        st2, b2 = h.window(2, "call-next")
        st3, b3 = h.window(3, "call-next")
        T.eq((st2, st3), (200, 200), "two quick calls")
        labels = [b2["ticket"]["number"], b3["ticket"]["number"]]
        T.eq(labels, ["A002", "A003"], "tickets called")
        recs = wait_log(out, 3)
        T.eq(len(recs), 3, "two more announcements")
        if len(recs) >= 3:
            a, b = recs[1], recs[2]
            T.eq([(a["label"], a["window"]), (b["label"], b["window"])],
                 [("A002", "2"), ("A003", "3")], "announced in the calls' order")
            T.check(a["end"] <= b["start"], f"no overlap: {a['end']} <= {b['start']}")
            T.check(a["id"] < b["id"], "queue order")
            T.eq((a["reps"], b["reps"]), ("1/1", "1/1"), "repeat 1 after SIGHUP")
            _, _, pcm = samples(os.path.join(out, b["file"]))
            T.check(pcm == sentence(zh_call("A003", ["zh/3"])), "请 A003 号 到 3 号窗口 办理")

        # ---- a recall is announced, with the same words
        st, body = h.window(2, "recall")
        T.eq(st, 200, "recall at window 2")
        recs = wait_log(out, 4)
        T.eq(len(recs), 4, "the recall is announced")
        if len(recs) >= 4:
            r = recs[3]
            T.eq((r["label"], r["window"], r["recall"]), ("A002", "2", "1"), "recall=1 in the log")
            _, _, pcm = samples(os.path.join(out, r["file"]))
            _, _, first = samples(os.path.join(out, recs[1]["file"]))
            T.check(pcm == first, "a recall says the same words as the call")

        # ---- Chinese then English after SIGHUP
        h.config["voice"]["language"] = "zh+en"
        reload(T, h)
        T.eq(h.window(1, "finish")[0], 200, "finish at window 1")
        T.eq(h.issue("A")[0], 201, "issue A004")
        st, body = h.window(1, "call-next")
        T.eq((st, body["ticket"]["number"]), (200, "A004"), "window 1 calls A004")
        recs = wait_log(out, 5)
        T.eq(len(recs), 5, "the bilingual announcement")
        if len(recs) >= 5:
            _, _, pcm = samples(os.path.join(out, recs[4]["file"]))
            want = (sentence(zh_call("A004", ["zh/1"])) + silence(PAUSE_MS)
                    + sentence(en_call("A004", ["en/1"])))
            T.check(pcm == want, "请 A004 号 到 1 号窗口 办理, then Number A 0 0 4, please go to window 1")
            T.eq(sound_stretches(pcm), 2, "two sentences")

        st = h.status()["voice"]
        T.check(st["announced"] >= 1 and st["announced"] == st["played"], "status counters")
        T.eq(st["failed"], 0, "no failed announcement")
        T.check("voice" in open(h.log_path, encoding="utf-8", errors="replace").read().lower(),
                "the daemon logs its announcements")

    # ---- a configured pack folder with a bad clip stops start-up, naming the file
    config["voice"]["pack"] = "mypack"
    h = Hall(config)
    os.makedirs(os.path.join(h.dir, "mypack", "zh"))
    with open(os.path.join(h.dir, "mypack", "zh", "qing.wav"), "wb") as f:
        f.write(b"RIFF\x04\x00\x00\x00WAVE")
    try:
        h.start(timeout=5)
        T.check(False, "a bad clip in voice.pack must stop start-up")
    except RuntimeError as e:
        T.check("mypack/zh/qing.wav" in str(e), "the message names the bad clip: " + str(e)[-300:])
    h.stop()
    # a good recording in the hall's folder replaces the built-in clip
    with wave.open(os.path.join(h.dir, "mypack", "zh", "qing.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"\x10\x27\xf0\xd8" * 2000)  # 0.25 s of a square wave
    h.config["voice"]["repeat"] = 1
    h.config["voice"]["language"] = "zh"
    h.write_config()
    with h:
        out = os.path.join(h.dir, "voice-out")
        h.window(1, "login", {"staff": "1001"})
        h.issue("A")
        h.window(1, "call-next")
        recs = wait_log(out, 1)
        T.eq(len(recs), 1, "announced with the hall's own clip")
        if recs:
            _, _, pcm = samples(os.path.join(out, recs[0]["file"]))
            words = zh_call("A001", ["zh/1"])
            want = (b"\x10\x27\xf0\xd8" * 2000 + silence(GAP_MS)
                    + silence(GAP_MS).join(clip(w) for w in words[1:]))
            T.check(pcm == want, "请 from mypack, the rest from the built-in pack")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())

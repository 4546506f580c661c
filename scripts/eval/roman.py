"""kmidi's Roman numerals against music21 and against human analyses.

Run through scripts/eval.sh (it builds the `roman_oracle` example and
installs music21 in a venv under target/). Two measurements:

1. Every figure in the human analyses that music21 bundles (.rntxt: Bach
   chorales, Monteverdi madrigals), in its annotated key: kmidi's
   realization (pitch classes and bass) against music21's.
2. kmidi's `RomanNumeral::analyze` against those analyses, chord by
   chord: the notes sounding in the score at each annotation's onset
   (chordified), with the annotated key, scored for root, triad quality and
   inversion against the human numeral. Sonorities that are not a stack of
   thirds (suspensions, passing tones) are counted apart.

accuracy.py calls evaluate() and puts the result into docs/accuracy.json;
run alone, `roman.py <roman_oracle> <out.json>` writes it to a file.
"""
import collections
import json
import subprocess
import sys

from music21 import converter, corpus, roman

QUALITY = {"major": "major", "minor": "minor", "diminished": "diminished",
           "augmented": "augmented", "half-diminished": "diminished",
           "dominant-seventh": "major", "major-seventh": "major",
           "minor-seventh": "minor", "diminished-seventh": "diminished"}


def key_name(k):
    return f"{k.tonic.name.replace('-', 'b')} {k.mode}"


def pitch_name(p):
    return p.name.replace("-", "b")


def kmidi_figure(fig):
    """music21's half-diminished (/o) in kmidi's spelling (ø)."""
    return fig.replace("/o", "ø")


def score_of(path):
    """The score an analysis belongs to, or None if the corpus lacks it."""
    try:
        return _score_of(path)
    except Exception:  # music21 raises CorpusException and others
        return None


def _score_of(path):
    text = open(path).read()
    if "choraleAnalyses" in str(path):
        for line in text.splitlines():
            if line.startswith("BWV:"):
                bwv = line.split(":", 1)[1].strip().replace("(", "").replace(")", "")
                return corpus.parse(f"bach/bwv{bwv}")
        return None
    # monteverdi/madrigal.3.1.rntxt -> monteverdi/madrigal.3.1.mxl
    name = str(path).split("corpus/")[1].rsplit(".", 1)[0]
    return corpus.parse(name)


def numerals_of(analysis):
    for rn in analysis.recurse().getElementsByClass(roman.RomanNumeral):
        m = rn.getContextByClass("Measure")
        if m is None:
            continue
        yield m.number, rn.getOffsetBySite(m), rn


def evaluate(oracle):
    """Both measurements, as a dict (see the module docs)."""
    paths = corpus.getPaths(fileExtensions=("rntxt",))
    realize_q, realize_ref = [], []
    analyze_q, analyze_ref = [], []
    pieces = []
    for path in paths:
        analysis = converter.parse(path, format="romanText")
        score = score_of(path)
        chords = None
        if score is not None:
            chords = {}
            for m in score.chordify().getElementsByClass("Measure"):
                chords[m.number] = [(c.offset, c) for c in m.notesAndRests if c.isChord]
        pieces.append(str(path).split("corpus/")[1])
        for number, offset, rn in numerals_of(analysis):
            k = key_name(rn.key)
            fig = kmidi_figure(rn.figure)
            realize_q.append(f"realize\t{k}\t{fig}")
            realize_ref.append((k, rn.figure, sorted({p.pitchClass for p in rn.pitches}),
                                rn.bass().pitchClass))
            if chords is None or number not in chords:
                continue
            sounding = [c for (o, c) in chords[number] if o <= offset + 1e-6]
            if not sounding:
                continue
            c = sounding[-1]
            notes = sorted({pitch_name(p) for p in c.pitches})
            analyze_q.append(f"analyze\t{k}\t{pitch_name(c.bass())}\t{','.join(notes)}")
            analyze_ref.append((k, rn.figure, rn.root().pitchClass, QUALITY.get(rn.quality, rn.quality),
                                rn.inversion(), str(path).split("corpus/")[1], number))
    answers = subprocess.run([oracle], input="\n".join(realize_q + analyze_q) + "\n",
                             capture_output=True, text=True, check=True).stdout.splitlines()
    real_ans, an_ans = answers[:len(realize_q)], answers[len(realize_q):]

    # 1. Realization against music21.
    agree, unparsed, differ = 0, collections.Counter(), collections.Counter()
    for (k, fig, pcs, bass), a in zip(realize_ref, real_ans):
        if a.startswith("error"):
            unparsed[fig] += 1
            continue
        got_pcs, got_bass = a.split("\t")
        got = [int(x) for x in got_pcs.split(",")]
        if got == pcs and int(got_bass) == bass:
            agree += 1
        else:
            differ[f"{fig} in {k}: music21 {pcs}/{bass}, kmidi {got}/{got_bass}"] += 1
    parsed = len(realize_ref) - sum(unparsed.values())

    # 2. analyze() against the human analyses.
    root = quality = inversion = all3 = stacked = 0
    misses = collections.Counter()
    for ref, a in zip(analyze_ref, an_ans):
        k, fig, r_root, r_q, r_inv, piece, m = ref
        kfig, symbol = a.split("\t")[:2]
        if kfig == "-":
            if symbol == "-":
                continue  # not a stack of thirds: counted below
            misses[f"{fig} in {k}: no numeral for {symbol}"] += 1
            stacked += 1
            continue
        stacked += 1
        tonic = k.split()[0].replace("b", "-")
        try:
            m21 = roman.RomanNumeral(kfig.replace("ø", "/o"),
                                     tonic if k.endswith("major") else tonic.lower())
            g_root, g_q, g_inv = m21.root().pitchClass, QUALITY.get(m21.quality, m21.quality), m21.inversion()
        except Exception:
            misses[f"{fig} in {k}: kmidi {kfig} (music21 cannot read it)"] += 1
            continue
        ok_r, ok_q, ok_i = g_root == r_root, g_q == r_q, g_inv == r_inv
        root += ok_r
        quality += ok_q
        inversion += ok_i
        all3 += ok_r and ok_q and ok_i
        if not (ok_r and ok_q and ok_i):
            misses[f"{fig} -> {kfig} ({symbol})"] += 1
    total = len(analyze_ref)
    result = {
        "pieces": pieces,
        "realize": {"figures": len(realize_ref), "parsed": parsed, "agree": agree,
                    "agreement": agree / parsed if parsed else 0.0,
                    "unparsed": unparsed.most_common(), "disagreements": differ.most_common()},
        "analyze": {"annotations": total, "stacked": stacked,
                    "root": root / stacked if stacked else 0.0,
                    "quality": quality / stacked if stacked else 0.0,
                    "inversion": inversion / stacked if stacked else 0.0,
                    "all": all3 / stacked if stacked else 0.0,
                    "misses": misses.most_common(40)},
    }
    return result


def summary(result):
    agree, parsed = result["realize"]["agree"], result["realize"]["parsed"]
    unread = result["realize"]["figures"] - parsed
    a = result["analyze"]
    return (f"roman: {agree}/{parsed} figures realize as music21 does ({unread} not read); "
            f"analyze on {a['stacked']} stacked sonorities of {a['annotations']}: root {a['root']:.3f}, "
            f"quality {a['quality']:.3f}, inversion {a['inversion']:.3f}")


def main():
    result = evaluate(sys.argv[1])
    with open(sys.argv[2], "w") as f:
        json.dump(result, f, indent=1)
    print(summary(result))


if __name__ == "__main__":
    main()

//! Reading Roman numerals: figures, qualities, accidentals, the
//! tonicized degree and the special chords (N6, It+6, Fr+6, Ger+6).

use super::*;

const NUMERALS: [(&str, u8); 7] = [
    ("vii", 7),
    ("vi", 6),
    ("v", 5),
    ("iv", 4),
    ("iii", 3),
    ("ii", 2),
    ("i", 1),
];

const EXPECT_NUMERAL: &str =
    "a Roman numeral I-VII or i-vii (after an optional b or #), or N6, It+6, Fr+6, Ger+6";
const EXPECT_FIGURE: &str = "a qualifier (°, o, ø, +), M for a major seventh, a figure (6, 64, 7, 65, 43, 42, 2), an omission ([no1], [no3], [no5]), or /degree";
const EXPECT_OMISSION: &str = "an omission: [no1], [no3] or [no5] (or several, [no3no5])";

/// Accidentals before a numeral; the count saturates at ±127 (the caller
/// rejects anything beyond ±2), so a long run cannot overflow.
fn parse_accidental(c: &mut Cursor) -> i8 {
    let mut a = 0i8;
    loop {
        if c.eat_any(&["b", "♭"]) {
            a = a.saturating_sub(1);
        } else if c.eat_any(&["#", "♯"]) {
            a = a.saturating_add(1);
        } else {
            return a;
        }
    }
}

/// A numeral I-VII in either case; returns degree and whether upper case.
fn parse_numeral(c: &mut Cursor) -> Option<(u8, bool)> {
    for (name, degree) in NUMERALS {
        let upper = UPPER[degree as usize - 1];
        if c.eat(name) {
            return Some((degree, false));
        }
        if c.eat(upper) {
            return Some((degree, true));
        }
    }
    None
}

impl RomanNumeral {
    /// Parses `s`; `what` and `offset` place errors inside a longer text.
    pub(crate) fn parse_in(
        s: &str,
        full: &str,
        offset: usize,
    ) -> Result<RomanNumeral, HarmonyError> {
        let err = |pos: usize, expected: &'static str| {
            HarmonyError::parse("Roman numeral", full, offset + pos, expected)
        };
        let mut c = Cursor::new(s);
        if let Some(n) = parse_special(&mut c) {
            if !c.at_end() {
                return Err(err(
                    c.pos,
                    "end of the numeral after the augmented sixth or Neapolitan figure",
                ));
            }
            return Ok(n);
        }
        let accidental = parse_accidental(&mut c);
        if accidental.unsigned_abs() > 2 {
            return Err(err(0, "at most two accidentals before the numeral"));
        }
        let Some((degree, upper)) = parse_numeral(&mut c) else {
            return Err(err(c.pos, EXPECT_NUMERAL));
        };
        let mut quality = if upper {
            TriadQuality::Major
        } else {
            TriadQuality::Minor
        };
        let mut seventh_hint: Option<Seventh> = None;
        let qual_pos = c.pos;
        if c.eat_any(&["°", "o"]) {
            if upper {
                return Err(err(qual_pos, "lower case before ° (vii°, not VII°)"));
            }
            quality = TriadQuality::Diminished;
            seventh_hint = Some(Seventh::Diminished);
        } else if c.eat("ø") {
            if upper {
                return Err(err(qual_pos, "lower case before ø (viiø7)"));
            }
            quality = TriadQuality::Diminished;
            seventh_hint = Some(Seventh::Minor);
        } else if c.eat("+") {
            if !upper {
                return Err(err(qual_pos, "upper case before + (III+, not iii+)"));
            }
            quality = TriadQuality::Augmented;
        }
        let half_diminished = seventh_hint == Some(Seventh::Minor);
        let major_seventh = c.eat_any(&["M", "maj", "Δ"]);
        let fig_pos = c.pos;
        // Figures as kmidi and RomanText write them (65 or 6/5).
        let (has_seventh, inversion) = if c.eat_any(&["65", "6/5"]) {
            (true, 1)
        } else if c.eat_any(&["64", "6/4"]) {
            (false, 2)
        } else if c.eat("6") {
            (false, 1)
        } else if c.eat("7") {
            (true, 0)
        } else if c.eat_any(&["43", "4/3"]) {
            (true, 2)
        } else if c.eat_any(&["42", "4/2"]) || c.eat("2") {
            (true, 3)
        } else {
            (major_seventh, 0)
        };
        if major_seventh && !has_seventh {
            return Err(err(
                fig_pos,
                "a seventh-chord figure (7, 65, 43, 42) after M",
            ));
        }
        // ø with a triad figure is the diminished triad (as in music21).
        if half_diminished && !has_seventh {
            seventh_hint = Some(Seventh::Diminished);
        }
        let seventh = if !has_seventh {
            None
        } else if major_seventh {
            Some(SeventhFigure::Marked(Seventh::Major))
        } else if let Some(hint) = seventh_hint {
            Some(SeventhFigure::Marked(hint))
        } else {
            Some(SeventhFigure::Diatonic)
        };
        let omitted = if c.peek() == Some(b'[') {
            parse_omissions(&mut c).map_err(|pos| err(pos, EXPECT_OMISSION))?
        } else {
            OmittedTones::NONE
        };
        if seventh.is_none() && omitted.root && omitted.third && omitted.fifth {
            return Err(err(
                fig_pos,
                "at least one chord tone left: a triad cannot leave out its root, third and fifth",
            ));
        }
        let mut of = None;
        if c.eat("/") {
            let at = c.pos;
            let acc = parse_accidental(&mut c);
            if acc.unsigned_abs() > 2 {
                return Err(err(
                    at,
                    "at most two accidentals before the tonicized degree",
                ));
            }
            let Some((d, up)) = parse_numeral(&mut c) else {
                return Err(err(
                    at,
                    "the tonicized degree after '/': a numeral I-VII or i-vii",
                ));
            };
            of = Some(Tonicized {
                degree: d,
                accidental: acc.clamp(-2, 2),
                mode: if up { Mode::Major } else { Mode::Minor },
            });
            if d == 1 && acc == 0 {
                return Err(err(at, "a degree other than I (V/I is V)"));
            }
        }
        if !c.at_end() {
            let expected = if of.is_some() {
                "end of the numeral (one level of tonicization: V/V, not V/V/V)"
            } else {
                EXPECT_FIGURE
            };
            return Err(err(c.pos, expected));
        }
        Ok(RomanNumeral {
            degree,
            accidental,
            quality,
            seventh,
            inversion,
            special: None,
            of,
            omitted,
        })
    }
}

/// Omissions after the figure: `[no3]`, `[no3][no5]` or `[no3no5]`, as
/// RomanText and music21 write them. On a malformed one, the position of
/// the error. Out of line: most numerals have none, and the common path
/// stays as compact as it was before omissions were read.
#[cold]
#[inline(never)]
fn parse_omissions(c: &mut Cursor) -> Result<OmittedTones, usize> {
    let mut omitted = OmittedTones::NONE;
    while c.peek() == Some(b'[') {
        c.pos += 1;
        loop {
            if !c.eat("no") {
                return Err(c.pos);
            }
            let tone = if c.eat("1") {
                &mut omitted.root
            } else if c.eat("3") {
                &mut omitted.third
            } else if c.eat("5") {
                &mut omitted.fifth
            } else {
                return Err(c.pos);
            };
            *tone = true;
            if c.eat("]") {
                break;
            }
        }
    }
    Ok(omitted)
}

fn parse_special(c: &mut Cursor) -> Option<RomanNumeral> {
    let start = c.pos;
    let n = if c.eat("N") {
        let inversion = if c.eat("64") {
            2
        } else if c.eat("6") {
            1
        } else {
            0
        };
        RomanNumeral::special(Special::Neapolitan, inversion)
    } else if c.eat("It") {
        let _ = c.eat_any(&["+6", "6"]);
        RomanNumeral::special(Special::Italian, 0)
    } else if c.eat("Fr") {
        let _ = c.eat_any(&["+6", "+43", "43", "6"]);
        RomanNumeral::special(Special::French, 0)
    } else if c.eat("Ger") || c.eat("Gr") {
        let _ = c.eat_any(&["+6", "+65", "65", "6"]);
        RomanNumeral::special(Special::German, 0)
    } else {
        c.pos = start;
        return None;
    };
    Some(n)
}

impl FromStr for RomanNumeral {
    type Err = HarmonyError;

    /// Parses `V7`, `ii65`, `bVII`, `#iv°7`, `viiø43`, `V7/IV`, `vii°7/ii`,
    /// `N6`, `Ger+6`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        RomanNumeral::parse_in(s, s, 0)
    }
}

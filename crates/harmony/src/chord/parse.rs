//! Reading chord symbols: roots, qualities, extensions, alterations,
//! additions, suspensions and slash basses, with errors that say where.

use super::*;

const EXPECT_AFTER_ROOT: &str = "a chord quality (m, min, -, dim, °, o, aug, +, ø, maj7, M7, Δ, sus2, sus4), an extension (6, 7, 9, 11, 13, 6/9), alterations (b5, #5, b9, #9, #11, b13), add9, add11, no5, or /bass";
const EXPECT_MODIFIER: &str = "an alteration or addition (b5, #5, b9, #9, #11, b13, add9, add11, add13, no5), sus2, sus4, or /bass";

/// A byte cursor over the input, for the hand-written parsers.
pub(crate) struct Cursor<'a> {
    pub(crate) s: &'a str,
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }
    pub(crate) fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    pub(crate) fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }
    /// Eats the first of `tokens` that matches.
    pub(crate) fn eat_any(&mut self, tokens: &[&str]) -> bool {
        tokens.iter().any(|t| self.eat(t))
    }
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    /// An unsigned decimal number, if one starts here.
    pub(crate) fn number(&mut self) -> Option<u32> {
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 3 {
            return None;
        }
        let n = self.rest()[..digits].parse().ok()?;
        self.pos += digits;
        Some(n)
    }
}

fn flat_or_sharp(c: &mut Cursor) -> Option<Alteration> {
    if c.eat_any(&["b", "♭", "-"]) {
        Some(Alteration::Flat)
    } else if c.eat_any(&["#", "♯", "+"]) {
        Some(Alteration::Sharp)
    } else {
        None
    }
}

struct Builder {
    p: ChordParts,
}

impl Builder {
    fn seventh_head(&mut self, n: u32, seventh: Seventh) -> bool {
        match n {
            7 => {}
            9 => self.p.ninth = Some(Alteration::Natural),
            11 => {
                self.p.ninth = Some(Alteration::Natural);
                self.p.eleventh = Some(Alteration::Natural);
            }
            13 => {
                self.p.ninth = Some(Alteration::Natural);
                self.p.thirteenth = Some(Alteration::Natural);
            }
            _ => return false,
        }
        self.p.seventh = Some(seventh);
        true
    }
}

/// Whether `s` starts with a major-seventh marker (maj7, ma9, M13, Δ, ...)
/// rather than a minor or plain-major quality.
fn starts_major_seventh(s: &str) -> bool {
    if s.starts_with('Δ') || s.starts_with('^') {
        return true;
    }
    for prefix in ["maj", "Maj", "MAJ", "ma", "M"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.starts_with(|ch: char| ch.is_ascii_digit());
        }
    }
    false
}

/// Parses a chord symbol; `what` names it in errors.
fn parse_chord(s: &str, what: &'static str) -> Result<Chord, HarmonyError> {
    let err = |pos: usize, expected: &'static str| HarmonyError::parse(what, s, pos, expected);
    let mut c = Cursor::new(s);
    if !c.peek().is_some_and(|b| (b'A'..=b'G').contains(&b)) {
        return Err(err(0, "a root: an upper-case note letter A-G"));
    }
    let (root, used) = SpelledPitch::parse_prefix(s, what, s, 0)?;
    c.pos = used;
    let mut b = Builder {
        p: ChordParts {
            root,
            third: Third::Major,
            fifth: Fifth::Perfect,
            sixth: false,
            seventh: None,
            ninth: None,
            eleventh: None,
            thirteenth: None,
            bass: None,
        },
    };

    // Quality.
    let mut head_done = false;
    if c.eat_any(&["dim7", "°7", "o7"]) {
        b.p.third = Third::Minor;
        b.p.fifth = Fifth::Diminished;
        b.p.seventh = Some(Seventh::Diminished);
        head_done = true;
    } else if c.eat_any(&["dim", "°", "o"]) {
        b.p.third = Third::Minor;
        b.p.fifth = Fifth::Diminished;
    } else if c.eat_any(&["ø7", "ø"]) {
        b.p.third = Third::Minor;
        b.p.fifth = Fifth::Diminished;
        b.p.seventh = Some(Seventh::Minor);
        // ø9, ø11 extend it.
        let save = c.pos;
        if let Some(n) = c.number()
            && (!b.seventh_head(n, Seventh::Minor) || n == 7)
        {
            c.pos = save;
        }
        head_done = true;
    } else if c.eat_any(&["aug", "+"]) {
        b.p.fifth = Fifth::Augmented;
    } else if !starts_major_seventh(c.rest())
        && !c.rest().starts_with("maj")
        && c.eat_any(&["min", "mi", "m", "-"])
    {
        b.p.third = Third::Minor;
    } else if !starts_major_seventh(c.rest()) {
        // "CM" / "Cmaj": an explicit major triad.
        c.eat_any(&["maj", "Maj", "MAJ", "M"]);
    }

    // Head: 6, 7, 9, 11, 13, 6/9, maj7 and friends.
    if !head_done {
        let open_paren = c.rest().starts_with("(maj")
            || c.rest().starts_with("(M7")
            || c.rest().starts_with("(Δ");
        if open_paren {
            c.eat("(");
        }
        let major_seventh = c.eat_any(&["maj", "Maj", "MAJ", "ma", "M", "Δ", "^"]);
        let head_pos = c.pos;
        if major_seventh {
            let n = c.number().unwrap_or(7);
            if !b.seventh_head(n, Seventh::Major) {
                return Err(err(head_pos, "7, 9, 11 or 13 after maj"));
            }
        } else if c.eat("6/9") || c.eat("69") {
            b.p.sixth = true;
            b.p.ninth = Some(Alteration::Natural);
        } else if c.peek().is_some_and(|ch| ch.is_ascii_digit()) {
            let n = c.number().unwrap_or(0);
            if n == 6 {
                b.p.sixth = true;
            } else if !b.seventh_head(n, Seventh::Minor) {
                return Err(err(head_pos, "an extension: 6, 7, 9, 11, 13 or 6/9"));
            }
        }
        if open_paren && !c.eat(")") {
            return Err(err(c.pos, "')' to close (maj7)"));
        }
    }

    // Suspensions, alterations, additions, in any order, optionally in
    // parentheses and separated by commas.
    let mut depth = 0u8;
    loop {
        if c.at_end() || c.rest().starts_with('/') {
            break;
        }
        let at = c.pos;
        if c.eat("(") {
            if depth > 0 {
                return Err(err(at, EXPECT_MODIFIER));
            }
            depth = 1;
            continue;
        }
        if c.eat(")") {
            if depth == 0 {
                return Err(err(at, EXPECT_MODIFIER));
            }
            depth = 0;
            continue;
        }
        if c.eat(",") || c.eat(" ") {
            continue;
        }
        if c.eat("sus2") {
            b.p.third = Third::Sus2;
            continue;
        }
        if c.eat("sus4") || c.eat("sus") {
            b.p.third = Third::Sus4;
            continue;
        }
        if c.eat_any(&["no5", "omit5"]) {
            b.p.fifth = Fifth::Omitted;
            continue;
        }
        if c.eat("add") {
            let n_pos = c.pos;
            match c.number() {
                Some(9) | Some(2) => b.p.ninth = Some(Alteration::Natural),
                Some(11) | Some(4) => b.p.eleventh = Some(Alteration::Natural),
                Some(13) => {
                    if b.p.sixth {
                        return Err(err(n_pos, "9 or 11 (a sixth chord already has its 13th)"));
                    }
                    b.p.thirteenth = Some(Alteration::Natural)
                }
                _ => return Err(err(n_pos, "9, 11 or 13 after add")),
            }
            continue;
        }
        if let Some(a) = flat_or_sharp(&mut c) {
            let n_pos = c.pos;
            match (c.number(), a) {
                (Some(5), Alteration::Flat) => b.p.fifth = Fifth::Diminished,
                (Some(5), _) => b.p.fifth = Fifth::Augmented,
                (Some(9), a) => b.p.ninth = Some(a),
                (Some(11), Alteration::Sharp) => b.p.eleventh = Some(a),
                (Some(13), Alteration::Flat) => {
                    if b.p.sixth {
                        return Err(err(n_pos, "5, 9 or 11 (a sixth chord cannot take b13)"));
                    }
                    b.p.thirteenth = Some(a)
                }
                _ => {
                    return Err(err(
                        n_pos,
                        "5 or 9 after a flat or sharp (b5, #5, b9, #9), 11 after a sharp, 13 after a flat",
                    ));
                }
            }
            continue;
        }
        let expected = if at == used {
            EXPECT_AFTER_ROOT
        } else {
            EXPECT_MODIFIER
        };
        return Err(err(at, expected));
    }
    if depth != 0 {
        return Err(err(c.pos, "')' to close the parenthesis"));
    }
    if c.eat("/") {
        let bass_at = c.pos;
        if !c.peek().is_some_and(|b| (b'A'..=b'G').contains(&b)) {
            return Err(err(
                bass_at,
                "a bass note after '/': an upper-case letter A-G",
            ));
        }
        let (bass, used) = SpelledPitch::parse_prefix(c.rest(), what, s, bass_at)?;
        c.pos += used;
        b.p.bass = Some(bass);
        if !c.at_end() {
            return Err(err(c.pos, "end of input after the bass note"));
        }
    }
    Chord::from_parts(b.p).map_err(|_| err(c.pos.min(s.len()), "a chord the symbol language can write (no sixth with a seventh, dim7 only on a diminished triad)"))
}

impl FromStr for Chord {
    type Err = HarmonyError;

    /// Parses a lead-sheet chord symbol: `C`, `Cm7`, `F#ø`, `Bb13#11`,
    /// `EbmMaj7`, `Gsus4`, `A7(b9,#11)`, `D6/9`, `C/E`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        parse_chord(s, "chord")
    }
}

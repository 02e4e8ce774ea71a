//! Chapter 10. The stroke font behind the `digits` data set: each digit is a few pen strokes.
//!
//! A stroke is written like an SVG path, in a unit box whose x axis points right and y axis
//! points down (as in an image): `M x y` puts the pen down, `L x y` draws a line and
//! `C c1x c1y c2x c2y x y` a cubic Bezier curve with control points c1 and c2. A digit spans
//! y = 0 (top) to y = 1 (bottom) and is centred on x = 0.5. To see a glyph, paste its paths into
//! `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-.1 -.1 1.2 1.2"><path fill="none"
//! stroke="black" stroke-width=".08" d="..."/></svg>`.
//!
//! Each digit has a few variants, the forms people actually write: a 1 with or without a flag
//! and a base, a 4 open or closed, a 7 with or without a cross bar, a 9 with a straight or a
//! curved tail. [`crate::data::digits()`] picks a variant, bends it and renders it.

/// `GLYPHS[d]` lists the variants of digit d; a variant is a list of strokes.
const GLYPHS: [&[&[&str]]; 10] = [
    // 0: an oval, started at the top; the second form starts right of the top and overshoots.
    &[
        &["M .5 .02 C .27 .02 .15 .26 .15 .5 C .15 .76 .29 .98 .5 .98 C .71 .98 .85 .76 .85 .5 C .85 .24 .72 .02 .5 .02"],
        &["M .64 .07 C .5 -.02 .19 .04 .16 .42 C .13 .8 .31 .98 .52 .98 C .75 .98 .86 .74 .84 .46 C .82 .16 .68 .02 .45 .04"],
    ],
    // 1: a bar (listed twice: twice as common); with a flag; with a flag and a base.
    &[
        &["M .52 0 L .48 1"],
        &["M .52 0 L .48 1"],
        &["M .4 .2 L .53 0 L .52 1"],
        &["M .4 .2 L .53 0 L .52 1", "M .32 1 L .72 1"],
    ],
    // 2: a hook, a diagonal, a base; the second form has a small loop where the base starts.
    &[
        &["M .22 .24 C .26 .02 .74 -.04 .77 .26 C .8 .5 .42 .72 .2 .98 L .82 .98"],
        &["M .2 .22 C .3 .0 .76 .0 .76 .28 C .76 .52 .38 .7 .24 .9 C .12 1.06 .34 1.02 .4 .9 C .5 .98 .7 1 .84 .96"],
    ],
    // 3: two bumps; the second form has a flat top, like a Z with a round belly.
    &[
        &["M .22 .14 C .36 -.04 .78 0 .76 .24 C .74 .42 .56 .46 .42 .47 C .64 .47 .82 .58 .8 .75 C .78 .98 .4 1.04 .18 .86"],
        &["M .22 .02 L .76 .02 L .44 .4 C .7 .36 .84 .56 .8 .74 C .76 .96 .4 1.04 .18 .88"],
    ],
    // 4: open (two strokes, the top left open); closed (a triangle on the upright).
    &[
        &["M .3 0 L .2 .62 L .84 .62", "M .66 .12 L .66 1"],
        &["M .64 .02 L .16 .66 L .86 .66", "M .64 .02 L .64 1"],
    ],
    // 5: flag, upright, belly; the second form draws the flag last.
    &[
        &["M .76 .02 L .32 .02 L .28 .44 C .46 .32 .82 .36 .8 .66 C .78 .98 .36 1.02 .2 .86"],
        &["M .32 .02 L .28 .44 C .46 .32 .82 .36 .8 .66 C .78 .98 .36 1.02 .2 .86", "M .32 .03 L .78 .0"],
    ],
    // 6: a falling curve that closes into a loop at the bottom.
    &[
        &["M .72 .04 C .44 .1 .22 .4 .22 .68 C .22 .9 .36 1 .51 1 C .68 1 .8 .88 .8 .71 C .8 .52 .66 .44 .51 .44 C .36 .44 .25 .54 .23 .64"],
        &["M .66 0 C .4 .24 .2 .5 .22 .76 C .24 .94 .4 1.01 .54 .99 C .72 .96 .8 .84 .78 .7 C .76 .54 .6 .48 .46 .5 C .34 .52 .24 .6 .23 .7"],
    ],
    // 7: a bar and a long diagonal; with a cross bar; with a curved stem.
    &[
        &["M .12 0 L .86 .03 L .38 1"],
        &["M .12 0 L .86 .03 L .38 1", "M .34 .52 L .78 .5"],
        &["M .12 .02 L .88 .03 C .64 .3 .48 .62 .42 1"],
    ],
    // 8: one stroke: from the waist round the top loop, across the waist, round the bottom loop.
    &[
        &["M .5 .46 C .32 .38 .26 .3 .27 .2 C .28 .07 .4 0 .5 0 C .62 0 .72 .07 .72 .2 C .72 .32 .64 .4 .5 .46 C .3 .55 .2 .63 .2 .76 C .2 .91 .35 1 .5 1 C .66 1 .8 .91 .8 .76 C .8 .62 .68 .54 .5 .46"],
        &["M .7 .12 C .62 0 .3 0 .28 .2 C .26 .4 .74 .48 .76 .72 C .78 .94 .6 1 .5 1 C .38 1 .22 .94 .24 .74 C .26 .52 .72 .42 .72 .2 C .72 .1 .66 .04 .6 .02"],
    ],
    // 9: a loop at the top and a straight tail; a curved tail.
    &[
        &["M .76 .25 C .76 .12 .65 .02 .5 .02 C .35 .02 .24 .12 .24 .25 C .24 .38 .35 .48 .5 .48 C .65 .48 .76 .38 .76 .25 L .72 1"],
        &["M .76 .26 C .73 .1 .62 .02 .5 .02 C .34 .02 .24 .13 .24 .26 C .24 .4 .38 .48 .52 .46 C .66 .44 .75 .37 .76 .26 C .78 .58 .72 .86 .56 1"],
    ],
];

/// A stroke as a chain of cubic Bezier curves: points `[p0, c1, c2, p1, c1, c2, p2, ...]`,
/// `3k + 1` of them for `k` curves. A line is stored as the cubic that traces it.
pub(crate) type Stroke = Vec<[f64; 2]>;

/// The parsed font: `font[digit][variant]` is the list of strokes.
pub(crate) fn parse_font() -> Vec<Vec<Vec<Stroke>>> {
    GLYPHS
        .iter()
        .map(|variants| {
            variants
                .iter()
                .map(|strokes| strokes.iter().map(|s| parse_path(s)).collect())
                .collect()
        })
        .collect()
}

/// Parses one stroke (`M` followed by `L` and `C` commands, absolute coordinates).
///
/// The font is a constant of this file, so a malformed path is a bug here, not bad input: it
/// panics with the path (the unit test below parses every glyph).
fn parse_path(path: &str) -> Stroke {
    let tokens: Vec<&str> = path.split_whitespace().collect();
    let mut at = 0;
    let point = |at: &mut usize| -> [f64; 2] {
        let mut xy = [0.0; 2];
        for v in &mut xy {
            let t = tokens
                .get(*at)
                .unwrap_or_else(|| panic!("path {path:?}: ran out of numbers"));
            *v = t
                .parse()
                .unwrap_or_else(|_| panic!("path {path:?}: {t:?} is not a number"));
            *at += 1;
        }
        xy
    };
    let mut points: Stroke = Vec::new();
    while at < tokens.len() {
        let command = tokens[at];
        at += 1;
        match command {
            "M" => {
                assert!(
                    points.is_empty(),
                    "path {path:?}: M must come first, and once"
                );
                points.push(point(&mut at));
            }
            "L" => {
                // A line as a cubic: control points at 1/3 and 2/3 of the way.
                let a = *points.last().expect("L before M");
                let b = point(&mut at);
                points.extend([lerp(a, b, 1.0 / 3.0), lerp(a, b, 2.0 / 3.0), b]);
            }
            "C" => {
                assert!(!points.is_empty(), "path {path:?}: C before M");
                let (c1, c2, b) = (point(&mut at), point(&mut at), point(&mut at));
                points.extend([c1, c2, b]);
            }
            other => panic!("path {path:?}: unknown command {other:?}"),
        }
    }
    assert!(points.len() >= 4, "path {path:?}: draws nothing");
    points
}

fn lerp(a: [f64; 2], b: [f64; 2], t: f64) -> [f64; 2] {
    [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_parses_into_cubic_chains_inside_a_slightly_padded_unit_box() {
        let font = parse_font();
        assert_eq!(font.len(), 10);
        for (digit, variants) in font.iter().enumerate() {
            assert!(!variants.is_empty(), "digit {digit} has no variant");
            for strokes in variants {
                for s in strokes {
                    assert_eq!(s.len() % 3, 1, "digit {digit}: {} points", s.len());
                    for p in s {
                        assert!(
                            (-0.1..=1.1).contains(&p[0]) && (-0.1..=1.1).contains(&p[1]),
                            "digit {digit}: point {p:?} outside the box"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_line_becomes_the_cubic_that_traces_it() {
        let s = parse_path("M 0 0 L .3 .6 C .4 .6 .6 .2 .6 0");
        assert_eq!(s.len(), 7);
        assert_eq!(s[0], [0.0, 0.0]);
        assert_eq!(s[3], [0.3, 0.6]);
        assert_eq!(s[4], [0.4, 0.6]);
        assert_eq!(s[6], [0.6, 0.0]);
        assert!((s[1][0] - 0.1).abs() < 1e-15 && (s[2][1] - 0.4).abs() < 1e-15);
    }
}

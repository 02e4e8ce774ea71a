//! Chapter 10. `digits`: handwritten-looking digits, 28 x 28 grey, drawn from a stroke font.
//!
//! How one digit is drawn:
//!
//! 1. **Font.** Pick one of the digit's forms in the stroke font (`font.rs`): a few pen strokes,
//!    each a chain of cubic Bezier curves in a unit box.
//! 2. **Warp and wobble.** Bend the glyph's box by a smooth random warp (one loop of an 8 grows
//!    while the other shrinks, a 4 opens), then move every control point by a small random
//!    amount, so that no two strokes bend alike; a shared corner moves as one point, so strokes
//!    stay joined.
//! 3. **Affine jitter.** Slant (shear), stretch (scale 0.8-1.1 and an aspect ratio), rotate
//!    (+-12 degrees), all about the glyph's centre. Bezier curves are affine-invariant, so
//!    transforming the control points transforms the whole curve. The rotation's cosine and sine
//!    come from t = tan(angle / 2), drawn uniformly: cos = (1 - t^2) / (1 + t^2) and
//!    sin = 2t / (1 + t^2), exact arithmetic (the angle is then uniform to within about 1%).
//! 4. **Place.** Scale to pixels (a glyph is about 20 px tall, as in MNIST), shrink the rare glyph
//!    that would not fit, put the centre of the ink (the length-weighted mean of the flattened
//!    strokes) at the image centre, as MNIST does, then shift by up to 2 px, keeping the ink
//!    off the outermost pixels.
//! 5. **Rasterise.** Flatten each curve into short segments. A pixel's ink is the part of it the
//!    pen covers: with d the distance from the pixel centre to the nearest segment and r half the
//!    pen width (pen width 1.2-2.8 px), the ink is `clamp(r + 1/2 - d, 0, 1)`, a one-pixel soft
//!    edge that approximates the exact coverage.
//! 6. **Blur.** A 3 x 3 binomial filter ([1 2 1]^T [1 2 1] / 16) softens the edges like a scanned
//!    pen stroke. The blur also dims a thin stroke's core, so the ink is then scaled until the
//!    brightest pixel reaches 1.3 and clipped at 1: every stroke has a solid core and soft edges,
//!    as in MNIST. Ink in [0, 1] maps to [-1, 1] (background -1).
//!
//! Every step uses only integer random bits and `+ - * / sqrt` (with `min`, `max`, `floor`), which
//! IEEE 754 defines exactly, so the images are bitwise the same on every machine.

use super::font::{parse_font, Stroke};
use super::{balanced_labels, draw_in_parallel, Dataset};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Images are `SIZE x SIZE`.
pub const SIZE: usize = 28;
/// The height in pixels of a glyph at scale 1.
const GLYPH_PX: f64 = 20.0;
/// Straight segments per cubic curve when flattening.
const PIECES_PER_CURVE: usize = 8;

/// The random ranges of the jitter (uniform in each).
const WOBBLE: f64 = 0.035; // control points move up to this far (glyph units) in x and y
const WARP: f64 = 0.075; // the warp's 3 x 3 grid of displacements, up to this far (glyph units)
const SHEAR: (f64, f64) = (-0.15, 0.35); // x += shear * height above the centre: forward slant
const SCALE: (f64, f64) = (0.8, 1.1);
const ASPECT: (f64, f64) = (0.8, 1.2); // width / height, relative to the font
/// tan(6 degrees): the tangent of half the largest rotation, 12 degrees.
const TAN_HALF_MAX_ROTATION: f64 = 0.105_104_235_265_676_46;
const SHIFT_PX: f64 = 2.0;
const PEN_WIDTH_PX: (f64, f64) = (1.2, 2.8);
/// The blur spreads a thin stroke's core over its neighbours, more for a diagonal stroke than
/// for one along the pixel grid. Ink is scaled so that the brightest pixel reaches this, then
/// clipped at 1 (as a scanner's contrast setting would), so every stroke's core is full ink.
const INK_GAIN: f64 = 1.3;

/// `n` digits drawn from `seed`: images `[n, 1, 28, 28]` in [-1, 1] (white digit on black),
/// labels 0-9 exactly balanced and in random order.
pub fn digits(n: usize, seed: u64) -> Dataset {
    let root = Rng::new(seed);
    let labels = balanced_labels(n, 10, &mut root.fork(0));
    let image_rngs = root.fork(1);
    let font = parse_font();
    let mut data = vec![0.0f32; n * SIZE * SIZE];
    draw_in_parallel(&mut data, SIZE * SIZE, |i, image| {
        render_digit(&font[labels[i]], &mut image_rngs.fork(i as u64), image);
    });
    Dataset {
        images: Tensor::from_vec(&[n, 1, SIZE, SIZE], data).expect("n whole images"),
        labels,
        classes: 10,
        class_names: (0..10).map(|d| d.to_string()).collect(),
        name: "digits".to_string(),
    }
}

/// Draws one digit, given its forms in the font, into `image: [28 * 28]` (row-major, in [-1, 1]).
fn render_digit(forms: &[Vec<Stroke>], rng: &mut Rng, image: &mut [f32]) {
    let form = &forms[rng.below(forms.len())];

    // Step 2: a smooth warp of the glyph box, then the wobble of each control point. The warp
    // moves point (x, y) by the degree-2 Bezier surface sum_ij B_i(x) B_j(y) d_ij over a 3 x 3
    // grid of random displacements d_ij (B_0 = (1-t)^2, B_1 = 2t(1-t), B_2 = t^2): one loop of
    // an 8 grows while the other shrinks, a 4 opens, a 9's tail leans.
    let mut grid = [[[0.0; 2]; 3]; 3];
    for d in grid.iter_mut().flatten() {
        *d = [
            WARP * (2.0 * rng.uniform() - 1.0),
            WARP * (2.0 * rng.uniform() - 1.0),
        ];
    }
    let bernstein = |t: f64| [(1.0 - t) * (1.0 - t), 2.0 * t * (1.0 - t), t * t];
    let warp = |p: [f64; 2]| {
        let (bx, by) = (bernstein(p[0]), bernstein(p[1]));
        let mut q = p;
        for (i, row) in grid.iter().enumerate() {
            for (j, d) in row.iter().enumerate() {
                q[0] += bx[i] * by[j] * d[0];
                q[1] += bx[i] * by[j] * d[1];
            }
        }
        q
    };

    // Step 3: map glyph units to pixels by one affine map about the glyph centre (0.5, 0.5):
    // p -> A (p - centre).
    let shear = rng.uniform_range(SHEAR.0, SHEAR.1);
    let scale = GLYPH_PX * rng.uniform_range(SCALE.0, SCALE.1);
    let aspect = rng.uniform_range(ASPECT.0, ASPECT.1);
    // cos and sin of the angle from t = tan(angle / 2): exact arithmetic, no trigonometry.
    let t = rng.uniform_range(-TAN_HALF_MAX_ROTATION, TAN_HALF_MAX_ROTATION);
    let (cos, sin) = ((1.0 - t * t) / (1.0 + t * t), 2.0 * t / (1.0 + t * t));
    // A = rotation * diag(scale * aspect, scale) * shear, shear: (x, y) -> (x - shear y, y).
    let (sx, sy) = (scale * aspect, scale);
    let a = [
        [cos * sx, -cos * sx * shear - sin * sy],
        [sin * sx, -sin * sx * shear + cos * sy],
    ];
    let strokes: Vec<Stroke> = form
        .iter()
        .map(|stroke| {
            stroke
                .iter()
                .map(|&p| {
                    let p = warp(p);
                    let x = p[0] - 0.5 + WOBBLE * (2.0 * rng.uniform() - 1.0);
                    let y = p[1] - 0.5 + WOBBLE * (2.0 * rng.uniform() - 1.0);
                    [a[0][0] * x + a[0][1] * y, a[1][0] * x + a[1][1] * y]
                })
                .collect()
        })
        .collect();
    let radius = 0.5 * rng.uniform_range(PEN_WIDTH_PX.0, PEN_WIDTH_PX.1);

    // Step 4: flatten; shrink the glyph if it would not fit inside the frame (with the pen and
    // the blur, ink must stay off the outermost pixels); put the centre of the ink at the image
    // centre, plus a shift that keeps it inside.
    let mut segments: Vec<[f64; 4]> = strokes.iter().flat_map(flatten).collect();
    let (lo, hi) = bounds(&segments);
    // Points must stay `margin` from the frame: then the pen's soft edge (reach = radius + 1/2)
    // ends before the centre of the second pixel, and the blur leaves the first one clean.
    let margin = 1.5 + radius + 0.5;
    let room = SIZE as f64 - 2.0 * margin;
    let fit = (room / (hi[0] - lo[0])).min(room / (hi[1] - lo[1]));
    if fit < 1.0 {
        for s in &mut segments {
            s.iter_mut().for_each(|v| *v *= fit);
        }
    }
    let (lo, hi) = bounds(&segments);
    let ink_centre = centre_of_ink(&segments);
    let mut shift = [0.0; 2];
    for k in 0..2 {
        let wanted = 0.5 * SIZE as f64 - ink_centre[k] + SHIFT_PX * (2.0 * rng.uniform() - 1.0);
        // The shifts that keep every point `margin` inside; the fit above makes this non-empty
        // (up to rounding, hence `max`).
        let (least, most) = (margin - lo[k], SIZE as f64 - margin - hi[k]);
        shift[k] = wanted.min(most).max(least);
    }
    for s in &mut segments {
        s[0] += shift[0];
        s[1] += shift[1];
        s[2] += shift[0];
        s[3] += shift[1];
    }

    // Steps 5 and 6.
    let mut coverage = rasterise(&segments, radius);
    coverage = blur(&coverage);
    let brightest = coverage.iter().fold(0.0f64, |m, &c| m.max(c));
    let gain = if brightest > 0.0 {
        INK_GAIN / brightest
    } else {
        0.0
    };
    for (out, c) in image.iter_mut().zip(&coverage) {
        let ink = (gain * c).min(1.0);
        *out = (2.0 * ink - 1.0) as f32;
    }
}

/// The segments `[x0, y0, x1, y1]` of a stroke's cubic curves, `PIECES_PER_CURVE` each, from the
/// Bernstein form B(t) = (1-t)^3 p0 + 3(1-t)^2 t c1 + 3(1-t) t^2 c2 + t^3 p1.
fn flatten(stroke: &Stroke) -> Vec<[f64; 4]> {
    let mut segments = Vec::new();
    for curve in stroke.windows(4).step_by(3) {
        let mut prev = curve[0];
        for j in 1..=PIECES_PER_CURVE {
            let t = j as f64 / PIECES_PER_CURVE as f64;
            let u = 1.0 - t;
            let w = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
            let mut p = [0.0; 2];
            for k in 0..2 {
                p[k] = w[0] * curve[0][k]
                    + w[1] * curve[1][k]
                    + w[2] * curve[2][k]
                    + w[3] * curve[3][k];
            }
            segments.push([prev[0], prev[1], p[0], p[1]]);
            prev = p;
        }
    }
    segments
}

/// The bounding box of the segments: (smallest x and y, largest x and y).
fn bounds(segments: &[[f64; 4]]) -> ([f64; 2], [f64; 2]) {
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for s in segments {
        for k in 0..2 {
            lo[k] = lo[k].min(s[k]).min(s[k + 2]);
            hi[k] = hi[k].max(s[k]).max(s[k + 2]);
        }
    }
    (lo, hi)
}

/// The centre of the ink: the mean of the segments' midpoints, weighted by their lengths (for a
/// pen of constant width, the centre of mass of the image, as MNIST centres its digits).
fn centre_of_ink(segments: &[[f64; 4]]) -> [f64; 2] {
    let (mut total, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for s in segments {
        let len = ((s[2] - s[0]) * (s[2] - s[0]) + (s[3] - s[1]) * (s[3] - s[1])).sqrt();
        total += len;
        cx += len * 0.5 * (s[0] + s[2]);
        cy += len * 0.5 * (s[1] + s[3]);
    }
    [cx / total, cy / total]
}

/// Pen coverage of each pixel, `[SIZE * SIZE]` row-major: `clamp(radius + 1/2 - d, 0, 1)` with d
/// the distance from the pixel centre to the nearest segment.
fn rasterise(segments: &[[f64; 4]], radius: f64) -> Vec<f64> {
    // Squared distance to the nearest segment so far; only pixels within reach of a segment's
    // bounding box are visited, so the cost grows with the ink, not the image.
    let reach = radius + 0.5;
    let mut nearest = vec![reach * reach; SIZE * SIZE];
    for s in segments {
        let (ax, ay, bx, by) = (s[0], s[1], s[2], s[3]);
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let rows = pixel_range(ay.min(by) - reach, ay.max(by) + reach);
        let cols = pixel_range(ax.min(bx) - reach, ax.max(bx) + reach);
        for py in rows {
            for px in cols.clone() {
                // The pixel centre p, its projection on the segment at parameter t in [0, 1].
                let (x, y) = (px as f64 + 0.5 - ax, py as f64 + 0.5 - ay);
                let t = if len2 > 0.0 {
                    ((x * dx + y * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (ex, ey) = (x - t * dx, y - t * dy);
                let d2 = ex * ex + ey * ey;
                let cell = &mut nearest[py * SIZE + px];
                if d2 < *cell {
                    *cell = d2;
                }
            }
        }
    }
    nearest
        .iter()
        .map(|&d2| (reach - d2.sqrt()).clamp(0.0, 1.0))
        .collect()
}

/// The pixels whose centres may lie in [lo, hi] (clipped to the image).
fn pixel_range(lo: f64, hi: f64) -> std::ops::Range<usize> {
    let first = (lo - 0.5).floor().max(0.0) as usize;
    let last = ((hi - 0.5).ceil() + 1.0).clamp(0.0, SIZE as f64) as usize;
    first..last.max(first)
}

/// The 3 x 3 binomial blur, [1 2 1]^T [1 2 1] / 16, with zeros (background) outside the image.
fn blur(image: &[f64]) -> Vec<f64> {
    let n = SIZE as isize;
    let at = |y: isize, x: isize| {
        if (0..n).contains(&y) && (0..n).contains(&x) {
            image[(y * n + x) as usize]
        } else {
            0.0
        }
    };
    let mut out = vec![0.0; SIZE * SIZE];
    for y in 0..n {
        for x in 0..n {
            let row = |yy| at(yy, x - 1) + 2.0 * at(yy, x) + at(yy, x + 1);
            out[(y * n + x) as usize] = (row(y - 1) + 2.0 * row(y) + row(y + 1)) / 16.0;
        }
    }
    out
}

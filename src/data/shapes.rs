//! Chapter 10. `shapes`: a circle, a square or a triangle in colour on a shaded background,
//! 32 x 32 RGB.
//!
//! Each image: a background that shades linearly between two nearby colours in a random
//! direction; a shape of random size (all three shapes of a given size have the same area, so
//! area says nothing about the class), position and rotation; a foreground colour drawn until
//! its luminance differs from the background's by at least 0.25 (so the shape is always visible,
//! even in greyscale). Edges are anti-aliased from the signed distance d of the pixel centre to
//! the shape's outline (negative inside): the shape covers `clamp(1/2 - d, 0, 1)` of the pixel.
//! As for `digits`, only `+ - * / sqrt` are used, so the images are the same on every machine.

use super::{balanced_labels, draw_in_parallel, Dataset};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Images are `SIZE x SIZE`, 3 channels (RGB).
pub const SIZE: usize = 32;
/// The class names, in label order.
pub const CLASSES: [&str; 3] = ["circle", "square", "triangle"];

/// The radius of the circle with the shape's area, in pixels.
const AREA_RADIUS_PX: (f64, f64) = (4.5, 9.0);
/// The least luminance difference between the shape and any point of the background.
const MIN_CONTRAST: f64 = 0.25;
/// How far (per channel) the background's second colour may be from its first.
const SHADING: f64 = 0.25;

/// `n` shapes drawn from `seed`: images `[n, 3, 32, 32]` in [-1, 1], labels 0 circle, 1 square,
/// 2 triangle, exactly balanced and in random order.
pub fn shapes(n: usize, seed: u64) -> Dataset {
    let root = Rng::new(seed);
    let labels = balanced_labels(n, CLASSES.len(), &mut root.fork(0));
    let image_rngs = root.fork(1);
    let mut data = vec![0.0f32; n * 3 * SIZE * SIZE];
    draw_in_parallel(&mut data, 3 * SIZE * SIZE, |i, image| {
        render_shape(labels[i], &mut image_rngs.fork(i as u64), image);
    });
    Dataset {
        images: Tensor::from_vec(&[n, 3, SIZE, SIZE], data).expect("n whole images"),
        labels,
        classes: CLASSES.len(),
        class_names: CLASSES.iter().map(|s| s.to_string()).collect(),
        name: "shapes".to_string(),
    }
}

/// Draws shape `class` into `image: [3 * 32 * 32]` (channel-major, in [-1, 1]).
fn render_shape(class: usize, rng: &mut Rng, image: &mut [f32]) {
    // Background: colour `bg0` at one side, `bg1` at the other, shading along `dir`.
    let bg0 = [rng.uniform(), rng.uniform(), rng.uniform()];
    let bg1 = bg0.map(|c| (c + SHADING * (2.0 * rng.uniform() - 1.0)).clamp(0.0, 1.0));
    let dir = random_unit_vector(rng);
    let fg = loop {
        let fg = [rng.uniform(), rng.uniform(), rng.uniform()];
        if (luminance(fg) - luminance(bg0)).abs() >= MIN_CONTRAST
            && (luminance(fg) - luminance(bg1)).abs() >= MIN_CONTRAST
        {
            break fg;
        }
    };

    // The shape: its size as the radius of the circle of equal area, then its own measure:
    // circle radius; square half side (area 4 h^2); triangle circumradius R (area 3 sqrt(3)/4 R^2).
    let area_radius = rng.uniform_range(AREA_RADIUS_PX.0, AREA_RADIUS_PX.1);
    let pi = std::f64::consts::PI;
    let sqrt3 = 3.0f64.sqrt();
    let (size, extent, max_half_turn) = match class {
        0 => (area_radius, area_radius, 0.0),
        // A square looks the same after a quarter turn: rotate by up to +-45 degrees.
        1 => {
            let h = 0.5 * area_radius * pi.sqrt();
            (h, h * 2.0f64.sqrt(), 2.0f64.sqrt() - 1.0) // tan(22.5 degrees) = sqrt 2 - 1
        }
        // A triangle looks the same after a third of a turn: rotate by up to +-60 degrees.
        2 => {
            let r = area_radius * (4.0 * pi / (3.0 * sqrt3)).sqrt();
            (r, r, 1.0 / sqrt3) // tan(30 degrees)
        }
        _ => unreachable!("shapes has 3 classes, found label {class}"),
    };
    // cos and sin of the rotation from the tangent of its half angle (no trigonometry needed).
    let t = if max_half_turn > 0.0 {
        rng.uniform_range(-max_half_turn, max_half_turn)
    } else {
        0.0
    };
    let (cos, sin) = ((1.0 - t * t) / (1.0 + t * t), 2.0 * t / (1.0 + t * t));
    // The centre keeps the whole shape (and a pixel of margin) inside the image.
    let margin = extent + 1.0;
    let centre = [
        rng.uniform_range(margin, SIZE as f64 - margin),
        rng.uniform_range(margin, SIZE as f64 - margin),
    ];

    let plane = SIZE * SIZE;
    for py in 0..SIZE {
        for px in 0..SIZE {
            let (x, y) = (px as f64 + 0.5, py as f64 + 0.5);
            // The pixel centre in the shape's frame: rotated back by the shape's angle.
            let (dx, dy) = (x - centre[0], y - centre[1]);
            let (u, v) = (cos * dx + sin * dy, -sin * dx + cos * dy);
            let distance = match class {
                0 => (u * u + v * v).sqrt() - size,
                1 => box_distance(u, v, size),
                _ => triangle_distance(u, v, size, sqrt3),
            };
            let cover = (0.5 - distance).clamp(0.0, 1.0);
            // Background shade: 0 at one side of the image, 1 at the other, along `dir`.
            let s =
                (((x - 16.0) * dir[0] + (y - 16.0) * dir[1]) / SIZE as f64 + 0.5).clamp(0.0, 1.0);
            for c in 0..3 {
                let bg = bg0[c] + s * (bg1[c] - bg0[c]);
                let colour = bg + cover * (fg[c] - bg);
                image[c * plane + py * SIZE + px] = (2.0 * colour - 1.0) as f32;
            }
        }
    }
}

/// Signed distance from (u, v) to the square [-h, h]^2 (exact, inside and out).
fn box_distance(u: f64, v: f64, h: f64) -> f64 {
    let (qx, qy) = (u.abs() - h, v.abs() - h);
    let (ox, oy) = (qx.max(0.0), qy.max(0.0));
    (ox * ox + oy * oy).sqrt() + qx.max(qy).min(0.0)
}

/// Signed distance (exact inside and along the edges, a slight underestimate beyond a corner)
/// from (u, v) to the equilateral triangle with circumradius r pointing up (y down): the largest
/// distance past any of its three edge lines. The edges' outward normals are the vertex
/// directions negated, and every edge is r/2 (the inradius) from the centre.
fn triangle_distance(u: f64, v: f64, r: f64, sqrt3: f64) -> f64 {
    let normals = [[0.0, 1.0], [-0.5 * sqrt3, -0.5], [0.5 * sqrt3, -0.5]];
    normals
        .iter()
        .map(|n| n[0] * u + n[1] * v)
        .fold(f64::MIN, f64::max)
        - 0.5 * r
}

/// Perceived brightness of an RGB colour (Rec. 601 weights).
fn luminance(c: [f64; 3]) -> f64 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// A direction uniform on the circle: a point uniform in the unit disc (by rejection), scaled to
/// length 1.
fn random_unit_vector(rng: &mut Rng) -> [f64; 2] {
    loop {
        let (x, y) = (2.0 * rng.uniform() - 1.0, 2.0 * rng.uniform() - 1.0);
        let r2 = x * x + y * y;
        if r2 > 1e-4 && r2 <= 1.0 {
            let r = r2.sqrt();
            return [x / r, y / r];
        }
    }
}

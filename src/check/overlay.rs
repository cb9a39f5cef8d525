//! Overlay PNG for case files: the image, the registered reference outline (China in China's
//! view, cyan) and each zone coloured by status (red violation, green ok, amber uncertain);
//! where the South China Sea was read in a 南海诸岛 inset box, the box and the dash line's
//! place in it in the box's own frame (cyan), and the zone's status there; with a legend in
//! Chinese and English rendered through resvg with the system fonts (Noto Sans CJK when
//! installed; without a CJK font the Chinese words are left blank).
use super::register::{Prepared, Registered};
use super::{CheckReport, Checker, Status};
use crate::reference::raster::{Mask, stroke_px};
use std::sync::OnceLock;

fn status_colour(s: Status) -> [u8; 3] {
    match s {
        Status::Violation => [230, 30, 30],
        Status::Ok => [20, 170, 60],
        Status::Uncertain => [240, 160, 0],
        Status::NotShown => [150, 150, 150],
    }
}

pub(crate) fn fontdb() -> &'static std::sync::Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<std::sync::Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_system_fonts();
        std::sync::Arc::new(db)
    })
}

fn legend(report: &CheckReport) -> Option<(u32, u32, Vec<u8>)> {
    use resvg::{tiny_skia, usvg};
    let lines: Vec<(String, [u8; 3])> = report
        .findings
        .iter()
        .filter(|f| f.status != Status::NotShown)
        .map(|f| {
            let zh = match f.rule.as_str() {
                "taiwan" => "台湾",
                "zangnan" => "藏南",
                "aksai_chin" => "阿克赛钦",
                "south_china_sea" => "南海诸岛及断续线",
                "diaoyu" => "钓鱼岛",
                _ => "海南",
            };
            let st = match f.status {
                Status::Violation => "违规 violation",
                Status::Ok => "正确 ok",
                Status::Uncertain => "不确定 uncertain",
                Status::NotShown => "未显示 not shown",
            };
            (format!("{zh} {}: {st}", f.rule), status_colour(f.status))
        })
        .collect();
    let h = 26 + 18 * lines.len() as u32;
    let w = 300u32;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><rect width="{w}" height="{h}" fill="white" fill-opacity="0.88" stroke="black"/><text x="6" y="16" font-size="12" font-family="Noto Sans CJK SC, sans-serif">参考边界 reference outline (cyan)</text>"#
    );
    for (i, (t, c)) in lines.iter().enumerate() {
        let y = 20 + 18 * i as u32;
        svg.push_str(&format!(
            r#"<rect x="6" y="{}" width="12" height="12" fill="rgb({},{},{})"/><text x="24" y="{}" font-size="12" font-family="Noto Sans CJK SC, sans-serif">{}</text>"#,
            y + 3, c[0], c[1], c[2], y + 13, t
        ));
    }
    svg.push_str("</svg>");
    let opt = usvg::Options {
        fontdb: fontdb().clone(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(&svg, &opt).ok()?;
    let mut pix = tiny_skia::Pixmap::new(w, h)?;
    resvg::render(&tree, tiny_skia::Transform::identity(), &mut pix.as_mut());
    Some((w, h, pix.take()))
}

/// Renders the overlay PNG.
pub fn render(
    ck: &Checker,
    p: &Prepared,
    reg: Option<&Registered>,
    report: &CheckReport,
) -> Vec<u8> {
    let mut rgb: Vec<[u8; 3]> = p.rgb.clone();
    if let Some(reg) = reg {
        let f = reg.frame;
        let mut outline = Mask::new(p.w, p.h);
        for ring in &ck.reference.china {
            let pts: Vec<(f64, f64)> = ring.iter().map(|q| f.to_px(q[0], q[1])).collect();
            stroke_px(&mut outline, &pts, true, 1.0, 1);
        }
        for i in outline.set_pixels() {
            rgb[i] = [0, 200, 220];
        }
        // the South China Sea read in a 南海诸岛 inset box is drawn there, in the box's frame
        let inset = report.map.inset;
        for fd in &report.findings {
            if fd.status == Status::NotShown {
                continue;
            }
            let Some(z) = ck.reference.zone(&fd.rule) else {
                continue;
            };
            let (zf, clip) = match inset {
                Some(i) if fd.rule == "south_china_sea" => (i.frame, i.inside),
                _ => (f, [0.0, 0.0, p.w as f64, p.h as f64]),
            };
            let c = status_colour(fd.status);
            for (lon, lat) in z.cells() {
                let (x, y) = zf.to_px(lon, lat);
                if x >= clip[0].max(0.0)
                    && y >= clip[1].max(0.0)
                    && x < clip[2]
                    && y < clip[3]
                    && (x as usize) < p.w
                    && (y as usize) < p.h
                {
                    let i = y as usize * p.w + x as usize;
                    let o = rgb[i];
                    rgb[i] = [
                        ((o[0] as u16 + c[0] as u16) / 2) as u8,
                        ((o[1] as u16 + c[1] as u16) / 2) as u8,
                        ((o[2] as u16 + c[2] as u16) / 2) as u8,
                    ];
                }
            }
        }
        // the box and the dash line's place in it, in the outline's colour
        if let Some(i) = inset {
            let [x0, y0, x1, y1] = i.inside;
            let mut marks = Mask::new(p.w, p.h);
            stroke_px(
                &mut marks,
                &[(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
                true,
                1.0,
                1,
            );
            for d in &ck.reference.dashes {
                let pts: Vec<(f64, f64)> = d.iter().map(|q| i.frame.to_px(q[0], q[1])).collect();
                stroke_px(&mut marks, &pts, true, 1.0, 1);
            }
            // (the dashes clipped to the box: beyond it lies the main map)
            for k in marks.set_pixels() {
                let (x, y) = ((k % p.w) as f64, (k / p.w) as f64);
                let inside = x >= x0 - 1.0 && x <= x1 + 1.0 && y >= y0 - 1.0 && y <= y1 + 1.0;
                if inside {
                    rgb[k] = [0, 200, 220];
                }
            }
        }
    }
    if let Some((lw, lh, px)) = legend(report) {
        for y in 0..(lh as usize).min(p.h) {
            for x in 0..(lw as usize).min(p.w) {
                let k = (y * lw as usize + x) * 4;
                let a = px[k + 3] as u32;
                if a == 0 {
                    continue;
                }
                let i = y * p.w + x;
                let o = rgb[i];
                // premultiplied source over
                for ch in 0..3 {
                    rgb[i][ch] =
                        (px[k + ch] as u32 + o[ch] as u32 * (255 - a) / 255).min(255) as u8;
                }
            }
        }
    }
    let flat: Vec<u8> = rgb.into_iter().flatten().collect();
    let mut out = Vec::new();
    use image::ImageEncoder;
    let _ = image::codecs::png::PngEncoder::new(&mut out).write_image(
        &flat,
        p.w as u32,
        p.h as u32,
        image::ExtendedColorType::Rgb8,
    );
    out
}

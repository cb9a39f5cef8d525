//! Decoding untrusted image bytes: raster formats through `image` with limits, SVG through
//! resvg with external resources disabled (no file or network access, no scripts: usvg never
//! runs scripts).
use super::CheckError;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Largest accepted image side, in pixels.
pub const MAX_SIDE: u32 = 12_000;
/// Largest decoded allocation, in bytes.
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(2048)];
    let s = String::from_utf8_lossy(head);
    s.contains("<svg") || (s.trim_start().starts_with("<?xml") && s.contains("svg"))
}

/// Whether the bytes are in a lossy encoding (JPEG), whose ringing blurs thin lines.
pub fn is_lossy(bytes: &[u8]) -> bool {
    image::guess_format(bytes).is_ok_and(|f| f == image::ImageFormat::Jpeg)
}

/// Decodes bytes into an image (first frame of an animation).
pub fn decode(bytes: &[u8], name: &str) -> Result<DynamicImage, CheckError> {
    if bytes.is_empty() {
        return Err(CheckError::Decode {
            input: name.into(),
            reason: "empty file".into(),
        });
    }
    if looks_like_svg(bytes) {
        return decode_svg(bytes, name);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| CheckError::Decode {
            input: name.into(),
            reason: e.to_string(),
        })?;
    let Some(fmt) = reader.format() else {
        return Err(CheckError::Decode {
            input: name.into(),
            reason: "not an image (unknown format)".into(),
        });
    };
    if !matches!(
        fmt,
        ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Bmp
    ) {
        return Err(CheckError::Decode {
            input: name.into(),
            reason: format!("unsupported image format {fmt:?}"),
        });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    reader.decode().map_err(|e| CheckError::Decode {
        input: name.into(),
        reason: match e {
            image::ImageError::Limits(l) => {
                format!("refused by decoding limits ({l}); at most {MAX_SIDE}x{MAX_SIDE} pixels")
            }
            other => other.to_string(),
        },
    })
}

fn decode_svg(bytes: &[u8], name: &str) -> Result<DynamicImage, CheckError> {
    use resvg::{tiny_skia, usvg};
    // Never fetch anything: external images (file paths, URLs) resolve to nothing.
    let opt = usvg::Options {
        resources_dir: None,
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: usvg::ImageHrefResolver::default_data_resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        fontdb: super::overlay::fontdb().clone(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_data(bytes, &opt).map_err(|e| CheckError::Decode {
        input: name.into(),
        reason: format!("invalid SVG: {e}"),
    })?;
    let size = tree.size();
    let (w, h) = (size.width(), size.height());
    // Rasterise at most 1600 px on the long side.
    let scale = (1600.0 / w.max(h)).min(4.0);
    let (pw, ph) = ((w * scale).ceil() as u32, (h * scale).ceil() as u32);
    if pw == 0 || ph == 0 || pw > MAX_SIDE || ph > MAX_SIDE {
        return Err(CheckError::Decode {
            input: name.into(),
            reason: format!("SVG size {w}x{h} out of range"),
        });
    }
    let Some(mut pix) = tiny_skia::Pixmap::new(pw, ph) else {
        return Err(CheckError::Decode {
            input: name.into(),
            reason: "cannot allocate SVG canvas".into(),
        });
    };
    pix.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pix.as_mut(),
    );
    let img = image::RgbaImage::from_raw(pw, ph, pix.take()).ok_or_else(|| CheckError::Decode {
        input: name.into(),
        reason: "SVG raster size mismatch".into(),
    })?;
    Ok(DynamicImage::ImageRgba8(img))
}

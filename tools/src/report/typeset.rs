//! Text on the PNG charts, placed glyph by glyph with sub-pixel advances.
//!
//! Without a font feature plotters cannot rasterise text at all, and its `ab_glyph` feature draws
//! each glyph at a pen position truncated to a whole pixel and without its left side bearing, which
//! spaces letters unevenly (`USD T`, `ti me`); it also needs a process-wide font registry, and the
//! feature would reach criterion's plots through feature unification. [`Typeset`] wraps the bitmap
//! backend and does only the text itself: each glyph is outlined at its exact fractional pen position
//! (kerning included) from DejaVu Sans compiled into the binary, and its coverage blended in the
//! text colour; it also measures text with the same layout, so plotters sizes caption and label
//! areas from the real glyphs. Everything else is the wrapped backend's. Deterministic: the same
//! font bytes and the same arithmetic on every machine, whatever fonts it has.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::backend::BitMapBackend;
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

type Error = DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// A bitmap backend that typesets its own text (see the module docs).
pub(super) struct Typeset<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> Typeset<'a> {
    /// Wraps `inner`, drawing text in `font`.
    pub(super) fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
        Self { inner, font }
    }

    /// The glyphs of `text` at `size` px: `(x, y, coverage)` relative to the top left of the text box,
    /// and the box's width and height.
    fn layout(&self, text: &str, size: f64) -> (Vec<(i32, i32, f32)>, f32, f32) {
        let scale = PxScale::from(size as f32);
        let font = self.font.as_scaled(scale);
        let baseline = font.ascent().round();
        let mut pixels = Vec::new();
        let mut caret = 0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                caret += font.kern(p, id);
            }
            prev = Some(id);
            if let Some(outline) =
                self.font.outline_glyph(id.with_scale_and_position(scale, point(caret, baseline)))
            {
                let b = outline.px_bounds();
                let (x0, y0) = (b.min.x as i32, b.min.y as i32);
                outline.draw(|x, y, cov| {
                    if cov > 0.0 {
                        pixels.push((x0 + x as i32, y0 + y as i32, cov.min(1.0)));
                    }
                });
            }
            caret += font.h_advance(id);
        }
        (pixels, caret, font.ascent() - font.descent())
    }
}

impl DrawingBackend for Typeset<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Error> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Error> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Error> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Error> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), Error> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(&self, text: &str, style: &S) -> Result<(u32, u32), Error> {
        let (_, w, h) = self.layout(text, style.size());
        Ok((w.ceil() as u32, h.ceil() as u32))
    }

    /// Anchored and rotated as plotters' own text (`style.anchor()`, `style.transform()`).
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), Error> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let (pixels, w, h) = self.layout(text, style.size());
        let (w, h) = (w.round() as i32, h.round() as i32);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Center => -w / 2,
            HPos::Right => -w,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let turn = style.transform();
        for (x, y, cov) in pixels {
            let (x, y) = turn.transform(x + dx, y + dy);
            let alpha = colour.alpha * f64::from(cov);
            self.inner.draw_pixel((pos.0 + x, pos.1 + y), BackendColor { alpha, rgb: colour.rgb })?;
        }
        Ok(())
    }
}

"""Figures of the replication: labelled sample-grid strips and line charts, drawn with Pillow."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]


def last_grid(job_dir: Path) -> Path | None:
    """The job's last sample grid (`samples/epoch_XXXX.png`), or None."""
    grids = sorted((job_dir / "samples").glob("epoch_*.png"))
    return grids[-1] if grids else None


def first_person(grid_path: Path, rows_per_person: int, tile: int) -> Image.Image:
    """The top `rows_per_person` rows of a sample grid (one person: outputs, extra rows, the truth)."""
    grid = Image.open(grid_path).convert("RGB")
    return grid.crop((0, 0, grid.width, 2 + rows_per_person * (tile + 2)))


def labelled_stack(panels: list[tuple[str, Image.Image]], scale: int = 2) -> Image.Image:
    """Panels one under the other, each enlarged `scale` times under its label."""
    width = max(p.width for _, p in panels) * scale + 12
    height = sum(p.height * scale + 22 for _, p in panels) + 6
    out = Image.new("RGB", (width, height), "white")
    draw, y = ImageDraw.Draw(out), 4
    for label, panel in panels:
        draw.text((6, y + 4), label, fill="black")
        out.paste(panel.resize((panel.width * scale, panel.height * scale), Image.NEAREST), (6, y + 20))
        y += panel.height * scale + 22
    return out


def line_chart(series: dict[str, list[tuple[float, float]]], title: str, xlabel: str,
               size: tuple[int, int] = (640, 300)) -> Image.Image:
    """A line chart of named (x, y) series with axes, ticks at the ends, a legend and a title."""
    w, h = size
    left, right, top, bottom = 70, 150, 28, 40
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    points = [pt for pts in series.values() for pt in pts]
    draw.text((left, 6), title, fill="black")
    if not points:
        draw.text((left, h // 2), "no data", fill="black")
        return img
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(min(ys), 0.0), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def at(x, y):
        return (left + (x - x0) / (x1 - x0) * (w - left - right), h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom))

    draw.line([at(x0, y0), at(x1, y0)], fill="black")
    draw.line([at(x0, y0), at(x0, y1)], fill="black")
    for y in (y0, y1):
        draw.text((4, at(x0, y)[1] - 6), f"{y:.4g}", fill="black")
    for x in (x0, x1):
        draw.text((at(x, y0)[0] - 10, h - bottom + 6), f"{x:.4g}", fill="black")
    draw.text(((w - right) // 2, h - 16), xlabel, fill="black")
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        if len(pts) > 1:
            draw.line([at(x, y) for x, y in pts], fill=colour, width=2)
        for x, y in pts[-1:]:
            draw.ellipse([at(x, y)[0] - 2, at(x, y)[1] - 2, at(x, y)[0] + 2, at(x, y)[1] + 2], fill=colour)
        draw.rectangle([w - right + 10, top + 16 * i + 4, w - right + 22, top + 16 * i + 12], fill=colour)
        draw.text((w - right + 26, top + 16 * i + 2), name[:18], fill="black")
    return img


def side_by_side(images: list[Image.Image]) -> Image.Image:
    """Images left to right on white, top-aligned."""
    out = Image.new("RGB", (sum(i.width for i in images) + 8 * len(images), max(i.height for i in images)), "white")
    x = 0
    for image in images:
        out.paste(image, (x, 0))
        x += image.width + 8
    return out


def save(image: Image.Image, path: Path) -> Path:
    """Atomically write a PNG."""
    from expr_gan.io import atomic_write

    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))

"""The PDF report, laid out with reportlab's platypus.

Why reportlab rather than Qt's PDF writer: it runs headless (``medassist report`` on a server
with no display), keeps Qt out of the core (the CLI and tests render the same report the GUI
previews), and its flowables (paragraphs, tables that repeat their header, keep-together
blocks) flow long content over pages cleanly with "Page N of M" on every page.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.graphics.shapes import Drawing, Line, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from medassist import DEMO_NOTICE, __version__
from medassist.jobs import Job, Progress, run_job
from medassist.atomic import atomic_write_bytes
from medassist.reporting.content import DatedItem, ImagePanel, ReportContent
from medassist.reporting.deidentify import deidentify
from medassist.imaging.overlay import blend, heat_colormap

rl_config.useA85 = 0  # embed JPEG/Flate streams as binary: a quarter smaller than ASCII85

PAGE = A4
MARGIN = 18 * mm
FRAME_PAD = 6  # platypus frames indent their content by 6 pt; header and footer line up with it
WIDTH = PAGE[0] - 2 * MARGIN - 2 * FRAME_PAD
MAX_PIXELS = 1024  # long side of an embedded picture: sharp at 300 dpi for a half-page-wide image
JPEG_QUALITY = 90
OVERLAY_OPACITY = 0.55

NAVY = colors.HexColor("#1F3A5F")
GREY = colors.HexColor("#5A6570")
RULE = colors.HexColor("#B8C2CC")
HEAD_BG = colors.HexColor("#E8EDF3")
ZEBRA = colors.HexColor("#F7F9FB")
POSITIVE = colors.HexColor("#A0202A")
REFUSED = colors.HexColor("#8A5A00")
ACCEPTED = colors.HexColor("#1E6B3A")
NOTICE_BG = colors.HexColor("#F2F5F8")

_base = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontName="Helvetica-Bold", fontSize=16, leading=20,
                            alignment=TA_LEFT, textColor=NAVY, spaceAfter=2 * mm),
    "h2": ParagraphStyle("h2", parent=_base["Heading2"], fontName="Helvetica-Bold", fontSize=11.5, leading=14,
                         textColor=NAVY, spaceBefore=5 * mm, spaceAfter=2 * mm, keepWithNext=1),
    "h3": ParagraphStyle("h3", parent=_base["Heading3"], fontName="Helvetica-Bold", fontSize=9.5, leading=12,
                         textColor=colors.black, spaceBefore=3 * mm, spaceAfter=1 * mm, keepWithNext=1),
    "h2flow": ParagraphStyle("h2flow", parent=_base["Heading2"], fontName="Helvetica-Bold", fontSize=11.5, leading=14,
                             textColor=NAVY, spaceBefore=5 * mm, spaceAfter=2 * mm),
    "h3flow": ParagraphStyle("h3flow", parent=_base["Heading3"], fontName="Helvetica-Bold", fontSize=9.5, leading=12,
                             textColor=colors.black, spaceBefore=3 * mm, spaceAfter=1 * mm),
    "body": ParagraphStyle("body", parent=_base["BodyText"], fontName="Helvetica", fontSize=9, leading=12),
    "small": ParagraphStyle("small", parent=_base["BodyText"], fontName="Helvetica", fontSize=7.8, leading=10),
    "cell": ParagraphStyle("cell", parent=_base["BodyText"], fontName="Helvetica", fontSize=8, leading=10),
    "cellbold": ParagraphStyle("cellbold", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=8, leading=10),
    "positive": ParagraphStyle("positive", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=8, leading=10,
                               textColor=POSITIVE),
    "refused": ParagraphStyle("refused", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=8, leading=10,
                              textColor=REFUSED),
    "accepted": ParagraphStyle("accepted", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=8, leading=10,
                               textColor=ACCEPTED),
    "undecided": ParagraphStyle("undecided", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=8, leading=10,
                                textColor=GREY),
    "head": ParagraphStyle("head", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=7.8, leading=10,
                           textColor=NAVY),
    "label": ParagraphStyle("label", parent=_base["BodyText"], fontName="Helvetica", fontSize=7.5, leading=10,
                            textColor=GREY),
    "value": ParagraphStyle("value", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=9.5, leading=12),
    "mono": ParagraphStyle("mono", parent=_base["BodyText"], fontName="Courier", fontSize=7, leading=9),
    "caption": ParagraphStyle("caption", parent=_base["BodyText"], fontName="Helvetica", fontSize=7.5, leading=9.5,
                              textColor=GREY),
    "attention": ParagraphStyle("attention", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=8, leading=10,
                                spaceBefore=1, spaceAfter=1,
                                textColor=REFUSED),  # amber: a high score, a sepsis sign (red is for suggested findings)
    "notice": ParagraphStyle("notice", parent=_base["BodyText"], fontName="Helvetica-Bold", fontSize=8.5, leading=11,
                             textColor=NAVY),
}


# Names from DICOM headers come in every character set. The page fonts (Helvetica) hold Latin-1
# only; runs of other characters are set in reportlab's built-in CID fonts (Adobe's Japanese,
# Chinese and Korean sets) for CJK text, and in DejaVu Sans (shipped inside matplotlib, which
# captum needs) for Greek, Cyrillic and the other alphabets, so no font file has to ship here.
_CID_FONTS = {"japanese": "HeiseiMin-W3", "chinese": "STSong-Light", "korean": "HYSMyeongJo-Medium"}
_registered: set[str] = set()


def _alphabet_font() -> str | None:
    """DejaVu Sans from matplotlib's data, embedded (subset); None when matplotlib is absent."""
    if "DejaVuSans" not in _registered:
        try:
            import matplotlib
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            pdfmetrics.registerFont(TTFont("DejaVuSans", str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" /
                                                             "DejaVuSans.ttf")))
        except (ImportError, OSError):
            return None
        _registered.add("DejaVuSans")
    return "DejaVuSans"


def _cid_font(text: str) -> str:
    """The font for a text outside Latin-1: Korean with Hangul, Japanese with kana, Chinese with other
    CJK ideographs, DejaVu Sans for other alphabets (Greek, Cyrillic, ...)."""
    if any("\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" for ch in text):
        kind = "korean"
    elif any("\u3040" <= ch <= "\u30ff" for ch in text):
        kind = "japanese"
    elif any("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef" for ch in text):
        kind = "chinese"
    else:
        kind = "japanese"
        alphabet = _alphabet_font()
        if alphabet is not None:
            return alphabet
    name = _CID_FONTS[kind]
    if name not in _registered:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(name))
        _registered.add(name)
    return name


def _latin1(ch: str) -> bool:
    return ord(ch) < 0x100


def _marked(text: str) -> str:
    """Escaped paragraph markup with every run outside Latin-1 in a CID font that has its glyphs."""
    if all(_latin1(ch) for ch in text):
        return escape(text)
    font = _cid_font(text)  # one font for the whole text: kanji beside kana are Japanese, hanja beside hangul Korean
    out, run = [], ""
    for ch in text + "\0":
        if ch != "\0" and not _latin1(ch) or (run and ch == " "):
            run += ch
            continue
        if run:
            trailing = len(run) - len(run.rstrip(" "))
            core = run.rstrip(" ")
            out.append(f'<font name="{font}">{escape(core)}</font>' + " " * trailing)
            run = ""
        if ch != "\0":
            out.append(escape(ch))
    return "".join(out)


def _draw(canvas: pdfcanvas.Canvas, x: float, y: float, text: str, font: str, size: float, right: bool = False) -> None:
    """A header or footer line; one outside Latin-1 is drawn in a CID font that has its glyphs."""
    canvas.setFont(font if all(_latin1(ch) for ch in text) else _cid_font(text), size)
    (canvas.drawRightString if right else canvas.drawString)(x, y, text)


def _p(text: Any, style: str = "cell") -> Paragraph:
    return Paragraph(_marked(str(text)).replace("\n", "<br/>"), STYLES[style])


def _fmt_date(value: _dt.date | _dt.datetime | None) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _table_heading(text: str, style: str = "h2flow") -> list[Flowable]:
    """A heading over a long table: the table may start on this page and continue on the next
    (repeating its header), so the heading only needs room for itself and a few rows."""
    return [CondPageBreak(35 * mm), _p(text, style)]


def _table(rows: list[list[Any]], widths: list[float], header: bool = True, extra: list[tuple] | None = None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style: list[tuple] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), HEAD_BG), ("LINEBELOW", (0, 0), (-1, 0), 0.8, NAVY)]
        style += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(2, len(rows), 2)]
    table.setStyle(TableStyle(style + (extra or [])))
    return table


# ---------------------------------------------------------------------------------------------
# pictures


def _fit(pixels: np.ndarray) -> np.ndarray:
    """Scale the displayed frame down to at most :data:`MAX_PIXELS` (before blending: 4x less work)."""
    picture = PILImage.fromarray(pixels)
    picture.thumbnail((MAX_PIXELS, MAX_PIXELS), PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(picture)


def _fit_map(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The saliency map resampled to the picture's size (bilinear, like the viewer)."""
    heat = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if heat.shape == shape[:2]:
        return heat
    return np.asarray(PILImage.fromarray(heat, mode="F").resize((shape[1], shape[0]), PILImage.Resampling.BILINEAR))


def _jpeg(pixels: np.ndarray) -> tuple[bytes, int, int]:
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue(), pixels.shape[1], pixels.shape[0]


def render_pictures(content: ReportContent) -> Job[list[list[tuple[bytes, int, int]]]]:
    """JPEG of each image panel: the plain frame, then each overlay (the slow part of a report)."""
    pictures: list[list[tuple[bytes, int, int]]] = []
    panels = content.images
    for index, panel in enumerate(panels):
        yield Progress(0.8 * index / max(len(panels), 1), f"Drawing image {index + 1} of {len(panels)}")
        if panel.omitted_reason is not None:
            pictures.append([])
            continue
        shown = _fit(panel.pixels if panel.pixels is not None else panel.image.display_frame(panel.frame))
        pictures.append([_jpeg(shown)] + [_jpeg(blend(shown, _fit_map(e.values, shown.shape), OVERLAY_OPACITY))
                                          for e in panel.overlays])
    return pictures


class _ColourBar(Flowable):
    """The overlay legend, drawn as vectors (not an embedded picture)."""

    def __init__(self, width: float, height: float = 2.6 * mm) -> None:
        super().__init__()
        self.width, self.height = width, height + 3.2 * mm

    def draw(self) -> None:
        steps = 48
        bar_w = self.width * 0.6
        x0 = (self.width - bar_w) / 2
        for i in range(steps):
            r, g, b = heat_colormap(np.array(i / (steps - 1))) / 255.0
            self.canv.setFillColorRGB(r, g, b)
            self.canv.rect(x0 + bar_w * i / steps, 3.2 * mm, bar_w / steps + 0.3, self.height - 3.2 * mm, stroke=0, fill=1)
        self.canv.setFont("Helvetica", 6.5)
        self.canv.setFillColor(GREY)
        self.canv.drawString(x0, 0.6 * mm, "low")
        self.canv.drawRightString(x0 + bar_w, 0.6 * mm, "high evidence for the target")


def _image_block(panel: ImagePanel, shots: list[tuple[bytes, int, int]], number: int) -> list[Flowable]:
    image = panel.image
    facts = [image.modality, panel.study or "study date unknown", f"{image.shape[1]} x {image.shape[0]} px"]
    if image.n_frames > 1:
        facts.append(f"frame {panel.frame + 1} of {image.n_frames}")
    heading = _p(f"Image {number}: {panel.label}  ({', '.join(facts)})" if panel.label != f"Image {number}"
                 else f"{panel.label}  ({', '.join(facts)})", "h3")
    findings = ([_p(panel.mismatch, "refused")] if panel.mismatch else []) + [_p(f, "small") for f in panel.findings]
    if panel.omitted_reason is not None:
        return [heading, _p(f"Picture {panel.omitted_reason}.", "refused"), *findings]
    if panel.cleaning:  # which pictures were redacted, and how
        findings.append(_p(f"Picture: {panel.cleaning}.", "caption"))
    col = (WIDTH - 6 * mm) / 2
    window = image.default_window() if not image.is_color else None
    captions = ["As acquired" + (f" (window centre {window.center:g}, width {window.width:g})" if window else "")]
    captions += [f"{e.method} for '{e.target}'" for e in panel.overlays]
    cells = []
    for (data, w, h), caption in zip(shots, captions, strict=True):
        scale = min(col / w, 95 * mm / h)
        cells.append([Image(io.BytesIO(data), w * scale, h * scale), _p(caption, "caption")])
    if panel.overlays:
        cells[1].append(_ColourBar(col))
    grid = [cells[i:i + 2] + ([""] if len(cells[i:i + 2]) == 1 else []) for i in range(0, len(cells), 2)]
    table = Table(grid, colWidths=[col + 3 * mm, col + 3 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return [heading, *findings, Spacer(1, 1.5 * mm), table]


# ---------------------------------------------------------------------------------------------
# sections


def _title_block(c: ReportContent) -> list[Flowable]:
    p = c.patient
    birth = "withheld" if c.deidentified else f"{_fmt_date(p.birth_date)}"
    rows = [
        ["Patient", p.name, "Patient ID", p.patient_id],
        ["Birth date", birth, "Age / sex", f"{p.age}, {p.sex}"],
        ["Report date", _fmt_date(c.generated), "Clinician", c.clinician or "-"],
    ]
    if not c.deidentified and p.location:
        rows.append(["Residence", p.location, "Report ID", c.report_id])
    else:
        rows.append(["Report ID", c.report_id, "MedAssist", c.medassist_version])
    cells = [[_p(a, "label"), _p(b, "value"), _p(d, "label"), _p(e, "value")] for a, b, d, e in rows]
    demographics = Table(cells, colWidths=[22 * mm, 68 * mm, 22 * mm, WIDTH - 112 * mm], hAlign="LEFT")
    demographics.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, NAVY), ("LINEBELOW", (0, 0), (-1, -2), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    title = "De-identified decision-support report" if c.deidentified else "Clinical decision-support report"
    story: list[Flowable] = [_p(title, "title"), demographics, Spacer(1, 3 * mm)]
    notes = [c.notice] + ([c.deidentification_note] if c.deidentified else []) + ([DEMO_NOTICE] if c.demo else [])
    box = Table([[_p(n, "notice")] for n in notes], colWidths=[WIDTH])
    box.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), NOTICE_BG), ("LINEBEFORE", (0, 0), (0, -1), 2.5, NAVY),
                             ("LEFTPADDING", (0, 0), (-1, -1), 6)]))
    story.append(box)
    return story


def _context_section(c: ReportContent) -> list[Flowable]:
    p = c.patient

    def listing(items: list[DatedItem]) -> Paragraph:
        if not items:
            return _p("none recorded", "cell")
        return _p("\n".join(f"{i.text}" + (f"  (since {_fmt_date(i.date)})" if i.date else "") for i in items[:12])
                  + (f"\n... and {len(items) - 12} more" if len(items) > 12 else ""), "cell")

    rows = [[_p("Active problems", "head"), _p("Current medications", "head"), _p("Allergies", "head")],
            [listing(p.problems), listing(p.medications), listing(p.allergies)]]
    return [_p("Clinical context from the record", "h2"), _table(rows, [WIDTH * 0.38, WIDTH * 0.38, WIDTH * 0.24])]


def _findings_section(c: ReportContent) -> list[Flowable]:
    """Every finding, those suggested for the patient now first, each with its model, input and study date."""
    story: list[Flowable] = _table_heading("Findings")
    if not c.findings:
        said = "No model gave an answer for this patient." if c.not_answered else "No model was run for this patient."
        return story + [_p(said, "body")]
    header = ["Finding", "Result", "Model", "Input and study", "Input gate and notices"]
    rows: list[list[Any]] = [[_p(h, "head") for h in header]]
    for f in c.findings:
        style = "positive" if f.counts_now else "cell"
        result = f.text + (f"\n{f.note}" if f.note else "") + (f"\n{f.review.capitalize()} by clinician" if f.review else "")
        source = f.input_label + (f"\n{f.study}" if f.study else "") + (f"\nrun {_fmt_date(f.run_at)}" if f.run_at else "")
        rows.append([_p(f.label, style), _p(result, style), _p(f"{f.model}\nv{f.version}"), _p(source),
                     _p(f.gate, "small")])
    widths = [x * mm for x in (30, 52, 26, 30)]
    widths.append(WIDTH - sum(widths))
    return story + [_table(rows, widths), Spacer(1, 1 * mm),
                    _p("Suggested findings (red) are those the models suggest for this patient now: an image or record "
                       "model's probability at or above its operating threshold on a current film of this patient, or "
                       "a problem a sentence of the note affirms (its number is the notes model's score, not a "
                       "probability). A finding on a prior study is shown with its date and is not current; a film "
                       "whose header does not match the patient gives no findings until a clinician attaches it.",
                       "caption")]


def _not_answered_section(c: ReportContent) -> list[Flowable]:
    """Models that gave no answer, one line each, after the findings."""
    if not c.not_answered:
        return []
    lines = [_p(f"{n.model} v{n.version} on {n.input_label}: {n.reason}", "small") for n in c.not_answered]
    return [_p("Models that did not answer", "h3"), *lines]


def _picture_section(c: ReportContent) -> list[Flowable]:
    """"Clinical picture and scores": the values with sources and dates, the care setting the scores
    suggest, the sepsis signs, each score (sentence, criteria, citation) and the problems by concept."""
    block = c.picture
    if block is None:
        return []
    story: list[Flowable] = _table_heading("Clinical picture and scores")
    rows = [[_p(r.label, "cellbold"), _p(r.text)] for r in block.rows]
    story += [_table(rows, [32 * mm, WIDTH - 32 * mm], header=False), Spacer(1, 1.5 * mm)]
    story.append(_p(f"Care setting: {block.care_setting}", "attention" if "Suggested by the scores: " in block.care_setting
                    and "outpatient." not in block.care_setting else "body"))
    if block.sepsis_signs:
        story.append(_p("Sepsis signs:", "attention"))
        story += [_p(f"- {sign}", "attention") for sign in block.sepsis_signs]
    score_rows: list[list[Any]] = [[_p("Score", "head"), _p("Criteria (points, value, source; missing items)", "head")]]
    for score in block.scores:
        style = "attention" if score.level == "high" else "cellbold"
        score_rows.append([_p(score.sentence, style),
                           _p("\n".join(f"- {line}" for line in score.items) + f"\nSource: {score.citation}", "small")])
    if block.scores:
        story += [Spacer(1, 1.5 * mm), _table(score_rows, [WIDTH * 0.36, WIDTH * 0.64])]
    story += [_p(line, "small") for line in block.not_scored]
    if block.problems:
        story += [_p("Active problems by concept, with their evidence", "h3flow")] + [_p(f"- {p}", "small") for p in block.problems]
    if block.facts:
        story += [_p("Stated in this episode", "h3flow")] + [_p(f"- {f}", "small") for f in block.facts]
    if block.flags:
        story += [_p("Latest values outside the range for age and sex", "h3flow")] + [_p(f, "small") for f in block.flags]
    return story + [Spacer(1, 1 * mm), _p(
        "Scores are computed from the record (acute scores from this episode's values only); a missing input is never "
        "counted as zero: the range says what the score could be. The clinician confirms the care setting.", "caption")]


def _images_section(c: ReportContent, pictures: list[list[tuple[bytes, int, int]]]) -> list[Flowable]:
    if not c.images:
        return []
    intro = [_p("Images analysed", "h2"),
             _p("Each image is shown as acquired (with its display window) and with each saliency map overlaid: warmer "
                "colours mark the regions that most raised the model's output for the named finding. A map shows where "
                "the model looked, not that a finding is present.", "caption")]
    story: list[Flowable] = []
    for number, (panel, shots) in enumerate(zip(c.images, pictures, strict=True), start=1):
        story.append(KeepTogether((intro if number == 1 else []) + _image_block(panel, shots, number)))
    return story


def _explanations_section(c: ReportContent) -> list[Flowable]:
    if not c.explanations:
        return []
    rows = [[_p(h, "head") for h in ("Model", "Input", "Method", "Target", "Faithfulness")]]
    rows += [[_p(e.model), _p(e.input_label), _p(e.method), _p(e.target), _p(e.faithfulness)] for e in c.explanations]
    return [_p("Explanation methods and faithfulness", "h2"), _table(rows, [32 * mm, 36 * mm, 26 * mm, 22 * mm, WIDTH - 116 * mm]),
            Spacer(1, 1 * mm),
            _p("Faithfulness compares the map with random ones: removing the highlighted pixels first should make the "
               "output drop faster than removing them in random order (deletion AUC: lower is better), and revealing "
               "them first should make it rise faster (insertion AUC: higher is better). A map that random maps match "
               "1 time in 20 is called no better than random.", "caption")]


def _bar(score: float, scale: float, width: float = 28 * mm, height: float = 3 * mm) -> Drawing:
    drawing = Drawing(width, height)
    mid = width / 2
    length = (width / 2 - 1) * min(abs(score) / scale, 1.0) if scale > 0 else 0
    colour = POSITIVE if score > 0 else colors.HexColor("#2F5F9F")
    drawing.add(Rect(mid if score > 0 else mid - length, 0.3 * mm, length, height - 0.6 * mm, fillColor=colour, strokeColor=None))
    drawing.add(Line(mid, 0, mid, height, strokeColor=GREY, strokeWidth=0.4))
    return drawing


def _attributions_section(c: ReportContent) -> list[Flowable]:
    if not c.attributions:
        return []
    story: list[Flowable] = [_p("Results from notes and record data", "h2")]
    for block in c.attributions:
        scale = max((abs(r.score) for r in block.rows), default=0.0)
        if block.kind == "token_scores":
            rows = [[_p("Word of the note", "head"), _p("Attribution", "head"), _p("", "head")]]
            rows += [[_p(r.label), _p(f"{r.score:+.4f}"), _bar(r.score, scale)] for r in block.rows]
            widths = [92 * mm, 24 * mm, WIDTH - 116 * mm]
        else:
            rows = [[_p("Input", "head"), _p("Value", "head"), _p("Attribution", "head"), _p("", "head")]]
            rows += [[_p(r.label), _p(r.value or "-"), _p(f"{r.score:+.4f}"), _bar(r.score, scale)] for r in block.rows]
            widths = [52 * mm, 40 * mm, 24 * mm, WIDTH - 116 * mm]
        if block.withheld:
            story.append(KeepTogether([_p(f"{block.model} v{block.version} - {block.input_label}", "h3"),
                                       _p(block.summary, "small"), _p(block.withheld, "caption")]))
            continue
        parts = [_p(f"{block.model} v{block.version} - {block.input_label}", "h3"), _p(block.summary, "small"),
                 _p(f"Top attributions for '{block.target}' by {block.method} (faithfulness: {block.faithfulness}); "
                    "red raises the output, blue lowers it.", "caption"), Spacer(1, 1 * mm),
                 _table(rows, widths)]
        if block.missing_inputs:
            parts.append(_p("Missing inputs (not filled in by the model): " + ", ".join(block.missing_inputs), "small"))
        story.append(KeepTogether(parts))
    return story


def _review_section(c: ReportContent) -> list[Flowable]:
    story: list[Flowable] = [_p("Clinician's review", "h2")]
    if c.reviews:
        rows = [[_p(h, "head") for h in ("Finding", "Clinician's verdict", "Note")]]
        rows += [[_p(r.finding + (f"\n{r.model}" if r.model else "")), _p(r.status.capitalize()), _p(r.note or "-")]
                 for r in c.reviews]
        story += [_p("Model findings confirmed or rejected by the clinician:", "body"),
                  _table(rows, [60 * mm, 30 * mm, WIDTH - 90 * mm])]
    else:
        story.append(_p("Model findings confirmed or rejected by the clinician: none reviewed", "body"))
    if c.clinician_notes.strip():
        story += [Spacer(1, 1.5 * mm), _p("Clinician notes", "h3"), _p(c.clinician_notes.strip(), "body")]
    story += _table_heading("Treatment options considered", "h3flow")
    if not c.treatments:
        return story + [_p("No treatment options were reviewed.", "body")]
    story += [_p(note, "caption") for note in c.treatment_notes]
    story.append(Spacer(1, 1.5 * mm))
    rows = [[_p(h, "head") for h in ("Option", "Decision", "Clinician comment")]]
    extra: list[tuple] = []
    group = None
    for t in c.treatments:
        if t.group and t.group != group:  # one heading row per condition, in the plan's order
            group = t.group
            extra += [("SPAN", (0, len(rows)), (-1, len(rows))), ("BACKGROUND", (0, len(rows)), (-1, len(rows)), HEAD_BG),
                      ("NOSPLIT", (0, len(rows)), (-1, len(rows) + 1))]  # never a heading alone at a page foot
            rows.append([_p(t.group, "cellbold"), "", ""])
        style = "accepted" if t.status.startswith("Accepted") else "positive" if t.status in ("Rejected", "Excluded") else "undecided"
        option = [_p(t.label, "cellbold")] + ([_p(t.detail, "caption")] if t.detail else [])
        rows.append([option, _p(t.status, style), _p(t.comment or "-")])
    return story + [_table(rows, [72 * mm, 30 * mm, WIDTH - 102 * mm], extra=extra)]


def _models_section(c: ReportContent) -> list[Flowable]:
    if not c.models:
        return []
    rows = [[_p(h, "head") for h in ("Model", "Version", "Device", "Weights SHA-256")]]
    for m in c.models:
        digest = m.weights_sha256
        rows.append([_p(f"{m.title}\n({m.name})"), _p(m.version), _p(m.device),
                     _p(f"{digest[:32]}\n{digest[32:]}", "mono")])
    story: list[Flowable] = [*_table_heading("Models used"), _table(rows, [48 * mm, 18 * mm, 46 * mm, WIDTH - 112 * mm])]
    story.append(_p("Intended use and limitations", "h2"))
    for m in c.models:
        parts: list[Flowable] = [_p(f"{m.title} v{m.version}", "h3"), _p(m.intended_use, "body")]
        if m.limitations:
            parts.append(ListFlowable([ListItem(_p(x, "body"), leftIndent=10) for x in m.limitations],
                                      bulletType="bullet", start="-", leftIndent=10, bulletFontSize=8))
        story.append(KeepTogether(parts))
    return story


def _signature_section(c: ReportContent) -> list[Flowable]:
    statement = ("I have reviewed the decision-support outputs in this report together with the patient's clinical "
                 "picture. Findings and treatment decisions above are my own clinical judgement.")
    if c.deidentified:
        statement = "De-identified copy for teaching, audit or research: not part of the patient's medical record."
    name = c.clinician or ""
    rows = [[_p("Clinician", "label"), _p(name, "value"), _p("Signature", "label"), ""],
            [_p("Date and time", "label"), "", _p("Role / registration", "label"), ""]]
    table = Table(rows, colWidths=[24 * mm, 62 * mm, 30 * mm, WIDTH - 116 * mm], rowHeights=[11 * mm, 11 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                               ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black),
                               ("LINEBELOW", (3, 0), (3, -1), 0.6, colors.black)]))
    return [KeepTogether([_p("Review and signature", "h2"), _p(statement, "body"), Spacer(1, 2 * mm), table])]


# ---------------------------------------------------------------------------------------------
# page decoration


class _NumberedCanvas(pdfcanvas.Canvas):
    """Draws header and footer once the page count is known ("Page N of M")."""

    def __init__(self, *args: Any, decorate: Callable[[pdfcanvas.Canvas, int, int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decorate = decorate
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab API)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._decorate(self, number, total)
            super().showPage()
        super().save()


def _decorator(c: ReportContent) -> Callable[[pdfcanvas.Canvas, int, int], None]:
    width, height = PAGE
    left, right = MARGIN + FRAME_PAD, PAGE[0] - MARGIN - FRAME_PAD
    patient = c.patient
    ident = patient.name if c.deidentified else f"{patient.name}  |  ID {patient.patient_id}  |  born {_fmt_date(patient.birth_date)}"

    def decorate(canvas: pdfcanvas.Canvas, number: int, total: int) -> None:
        canvas.saveState()
        top = height - 11 * mm
        if c.demo:
            canvas.setFillColor(POSITIVE)
            canvas.setFont("Helvetica-Bold", 8)
            canvas.drawCentredString(width / 2, height - 6.5 * mm, DEMO_NOTICE.upper())
        canvas.setFillColor(NAVY)
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(left, top, c.facility_name)
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(right, top, "Decision-support report")
        canvas.setFillColor(GREY)
        canvas.setFont("Helvetica", 7.5)
        canvas.drawString(left, top - 4 * mm, c.facility_address)
        _draw(canvas, right, top - 4 * mm, ident, "Helvetica", 7.5, right=True)
        canvas.setStrokeColor(NAVY)
        canvas.setLineWidth(0.8)
        canvas.line(left, top - 6 * mm, right, top - 6 * mm)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.4)
        canvas.line(left, 15 * mm, right, 15 * mm)
        canvas.setFont("Helvetica", 7)
        canvas.drawString(left, 11 * mm, f"MedAssist {c.medassist_version}  |  Report {c.report_id}  |  "
                                           f"generated {_fmt_date(c.generated)}")
        canvas.drawString(left, 7.5 * mm, "Decision support only - not a diagnosis. Review by a qualified clinician required.")
        canvas.setFillColor(colors.black)
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawRightString(right, 11 * mm, f"Page {number} of {total}")
        canvas.restoreState()

    return decorate


def build_pdf(content: ReportContent) -> Job[bytes]:
    """Lay out the report and return the PDF bytes (a job: image drawing reports progress)."""
    pictures = yield from render_pictures(content)
    yield Progress(0.85, "Laying out pages")
    story: list[Flowable] = []
    for section in (
        _title_block(content), _findings_section(content), _not_answered_section(content), _picture_section(content),
        _context_section(content),
        _images_section(content, pictures), _explanations_section(content), _attributions_section(content),
        _review_section(content), _signature_section(content), _models_section(content),
    ):
        story += section
    buffer = io.BytesIO()
    hashes = "; ".join(f"{m.name} {m.version} sha256:{m.weights_sha256}" for m in content.models)
    doc = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=24 * mm, bottomMargin=20 * mm,
        title="De-identified decision-support report" if content.deidentified
        else f"Decision-support report - {content.patient.name}",
        author="" if content.deidentified else content.clinician,
        subject=f"MedAssist {__version__} report {content.report_id}",
        creator=f"MedAssist {content.medassist_version}",
        keywords=f"MedAssist {content.medassist_version}; models: {hashes}",
        invariant=True,  # no wall-clock date or random file ID: the same content gives the same bytes
    )
    doc.build(story, canvasmaker=partial(_NumberedCanvas, decorate=_decorator(content)))
    yield Progress(1.0, "Report ready")
    return buffer.getvalue()


@dataclass(frozen=True)
class RenderedReport:
    """One render: the content as printed (de-identified or not) and its PDF bytes, which the
    preview shows and Export writes unchanged."""

    content: ReportContent
    data: bytes


def render_report(content: ReportContent, deidentified: bool = False) -> Job[RenderedReport]:
    """De-identify when asked, then lay out: the single path from content to report bytes."""
    if deidentified:
        content = deidentify(content)
    data = yield from build_pdf(content)
    return RenderedReport(content, data)


def render_pdf(content: ReportContent) -> bytes:
    return run_job(build_pdf(content))


def write_pdf(content: ReportContent, target: str | Path) -> Job[Path]:
    """Render and write atomically: the target is either the complete new report or untouched."""
    data = yield from build_pdf(content)
    return atomic_write_bytes(target, data)

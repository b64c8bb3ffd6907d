"""Writers of a `RegTable` (ctfp.reports.regtable): LaTeX (booktabs), Word (.docx, python-docx), Markdown, HTML.

Each renders the same layout; none computes a number. LaTeX is a `table` float that `\\input`s into a
manuscript needing only `booktabs` (`standalone=True` wraps it in a document that compiles on its own: pdflatex
for English, xelatex with ctex for Chinese). Word tables are three-line tables (三线表: rules above and below
the header and at the bottom), as economics journals print them.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ctfp.reports.regtable import LCell, LRow, RegTable

FORMATS = ("latex", "docx", "md", "html")


# ---------------------------------------------------------------------------------------------- LaTeX
_TEX_ESCAPE = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex_escape(text: str) -> str:
    out = "".join(_TEX_ESCAPE.get(ch, ch) for ch in text)
    out = out.replace("²", r"$^2$").replace("×", r"$\times$").replace("−", "$-$")
    return out


def _tex_number(text: str) -> str:
    """A number as math-safe text: a leading minus as $-$ (a hyphen is too short), e-notation kept."""
    if text.startswith("-"):
        return "$-$" + text[1:]
    if text.startswith("(-"):
        return "($-$" + text[2:]
    return text


def _tex_cell(c: LCell) -> str:
    if c.kind in ("word", "head"):
        body = tex_escape(c.text)
    else:
        body = _tex_number(tex_escape(c.text)) if c.text else ""
        if c.stars:
            body += f"$^{{{c.stars}}}$"
    return body if c.span == 1 else f"\\multicolumn{{{c.span}}}{{c}}{{{body}}}"


def _tex_tabular(rt: RegTable) -> list[str]:
    lines = [f"\\begin{{tabular}}{{l{'c' * rt.n_leaf}}}", "\\toprule"]
    for i, hrow in enumerate(rt.header):
        stub = tex_escape(rt.stub) if i == 0 else ""
        lines.append(" & ".join([stub, *(_tex_cell(c) for c in hrow)]) + " \\\\")
        rules, col = [], 2
        for c in hrow:  # \cmidrule under each spanning heading, as esttab prints group titles
            if c.span > 1 and c.text:
                rules.append(f"\\cmidrule(lr){{{col}-{col + c.span - 1}}}")
            col += c.span
        if rules and i < len(rt.header) - 1:
            lines.append(" ".join(rules))
    lines.append("\\midrule")
    for row in rt.rows:
        if row.rule_above:
            lines.append("\\midrule")
        lines.append(" & ".join([tex_escape(row.label), *(_tex_cell(c) for c in row.cells)]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return lines


def to_latex(rt: RegTable, *, standalone: bool = False, label: str | None = None) -> str:
    """The table as a LaTeX float (booktabs) to `\\input` into a manuscript: \\caption is the study's title and
    LaTeX numbers it; tables wider than twelve number columns print as stacked panels of whole models.
    `standalone`: a whole document (`latex_document`) that compiles with pdflatex."""
    if standalone:
        return latex_document([rt])
    return _latex_float(rt, label=label, own_number=False)


def _latex_float(rt: RegTable, *, label: str | None, own_number: bool) -> str:
    lines = ["\\begin{table}[htbp]", "\\centering"]
    if own_number and rt.number.isdigit():  # a document of the study's tables numbers them as the study does
        lines.append(f"\\setcounter{{table}}{{{int(rt.number) - 1}}}")
    lines.append(f"\\caption{{{tex_escape(rt.caption)}}}")
    lines.append(f"\\label{{{label or 'tab:' + re.sub(r'[^A-Za-z0-9]+', '', rt.id)}}}")
    if rt.n_leaf > 8:  # wide tables (a dozen models, or six as published | replica pairs)
        lines.append("\\footnotesize\\setlength{\\tabcolsep}{3pt}")
    elif rt.n_leaf > 6:
        lines.append("\\small")
    for k, panel in enumerate(rt.panels()):
        if k:
            lines.append("\\par\\medskip")
        lines += _tex_tabular(panel)
    if rt.notes:
        lines.append("\\par\\smallskip")
        lines.append("\\begin{minipage}{\\linewidth}\\footnotesize")
        lines.append(" \\\\\n".join(tex_escape(n) for n in rt.notes))
        lines.append("\\end{minipage}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def latex_document(tables: list[RegTable]) -> str:
    """A document holding `tables` that compiles with pdflatex: booktabs, geometry (landscape when a table is
    wide), CJKutf8 when any text is Chinese (Debian: latex-cjk-chinese; a ctex/xelatex manuscript \\inputs the
    floats as they are)."""
    floats = [_latex_float(t, label=None, own_number=True) for t in tables]
    cjk = any(has_cjk(f) for f in floats)
    wide = any(p.n_leaf > 8 for t in tables for p in t.panels())
    zh = bool(tables) and tables[0].lang == "zh"
    pre = ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
           "\\usepackage{booktabs}\n" + ("\\usepackage{CJKutf8}\n" if cjk else "")
           + ("\\usepackage[landscape,margin=1.2cm]{geometry}\n" if wide else "\\usepackage[margin=2cm]{geometry}\n")
           + ("\\renewcommand{\\tablename}{表}\n" if zh else "")
           + "\\begin{document}\n" + ("\\begin{CJK}{UTF8}{gbsn}\n" if cjk else ""))
    return pre + "\n".join(floats) + ("\\end{CJK}\n" if cjk else "") + "\\end{document}\n"


def has_cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)


# ---------------------------------------------------------------------------------------------- Markdown
def _plain(c: LCell) -> str:
    return c.text + c.stars


def _leaf_texts(hrow: list[LCell]) -> list[str]:
    out: list[str] = []
    for c in hrow:
        out += [c.text] * c.span
    return out


def to_markdown(rt: RegTable) -> str:
    """A pipe table: one header line joining the heading rows, coefficient and (t) on two lines."""
    leaves = [_leaf_texts(h) for h in rt.header]
    heads = []
    for j in range(rt.n_leaf):
        parts = [lv[j] for lv in leaves if lv[j]]
        heads.append(" ".join(dict.fromkeys(parts)))

    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("*", "\\*")

    lines = [f"**{esc(rt.title)}**", "", "| " + " | ".join([esc(rt.stub), *map(esc, heads)]) + " |",
             "|" + "|".join([":---", *([":---:"] * rt.n_leaf)]) + "|"]
    for row in rt.rows:
        texts: list[str] = []
        for c in row.cells:
            texts += [_plain(c)] + [""] * (c.span - 1) if c.span > 1 and row.kind != "info" else [_plain(c)] * c.span
        lines.append("| " + " | ".join([esc(row.label), *map(esc, texts)]) + " |")
    lines.append("")
    lines += [esc(n) + "  " for n in rt.notes]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- HTML
HTML_CSS = """
table.regtable { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0 4px; }
table.regtable caption { text-align: left; font-weight: 600; padding: 4px 0 6px; }
table.regtable th, table.regtable td { padding: 2px 10px; text-align: center; white-space: nowrap; }
table.regtable thead tr:first-child th { border-top: 2px solid #1f2328; }
table.regtable thead tr:last-child th { border-bottom: 1px solid #1f2328; }
table.regtable th.grp { border-bottom: 1px solid #8c959f; }
table.regtable th.stub, table.regtable td.stub { text-align: left; }
table.regtable tr.rule td { border-top: 1px solid #1f2328; }
table.regtable tbody tr:last-child td { border-bottom: 2px solid #1f2328; }
table.regtable td.paren { color: #57606a; font-size: 0.92em; }
table.regtable td.pub { color: #b2182b; }
table.regtable p.note, p.regnote { margin: 2px 0; font-size: 0.9em; color: #57606a; max-width: 60em; }
"""


def _html_cell(c: LCell, tag: str, extra_cls: str = "") -> str:
    attrs = []
    cls = " ".join(x for x in (c.kind if tag == "td" else "", extra_cls) if x)
    if cls:
        attrs.append(f'class="{cls}"')
    if c.span > 1:
        attrs.append(f'colspan="{c.span}"')
    if c.key:
        attrs.append(f'data-key="{html.escape(c.key)}"')
        if c.value is not None:
            attrs.append(f'data-value="{html.escape(str(c.value))}"')
    text = html.escape(c.text) + (f"<sup>{html.escape(c.stars)}</sup>" if c.stars else "")
    return f"<{tag}{' ' if attrs else ''}{' '.join(attrs)}>{text}</{tag}>"


def to_html(rt: RegTable, *, standalone: bool = False) -> str:
    """The table as an HTML fragment (`<table class="regtable">` per panel, then the notes) or, standalone, a
    whole page. Every number carries data-key/data-value (the unrounded value) for checking the page."""
    out: list[str] = []
    for k, panel in enumerate(rt.panels()):
        suffix = f"-{k + 1}" if k else ""
        out += [f'<table class="regtable" id="reg-{html.escape(rt.id)}{suffix}" data-regtable="{html.escape(rt.id)}">',
                f"<caption>{html.escape(rt.title)}</caption>" if k == 0 else "", "<thead>"]
        out += _html_rows(panel)
    out += [f'<p class="regnote">{html.escape(n)}</p>' for n in rt.notes]
    body = "\n".join(x for x in out if x) + "\n"
    return html_page(body, rt.lang, rt.title) if standalone else body


def _html_rows(rt: RegTable) -> list[str]:
    out = []
    for i, hrow in enumerate(rt.header):
        stub = f'<th class="stub">{html.escape(rt.stub) if i == 0 else ""}</th>'
        cells = "".join(_html_cell(c, "th", "grp" if c.span > 1 and c.text and i < len(rt.header) - 1 else "")
                        for c in hrow)
        out.append(f"<tr>{stub}{cells}</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    for row in rt.rows:
        cls = f' class="{row.kind}{" rule" if row.rule_above else ""}"'
        cells = []
        j = 0
        for c in row.cells:
            pub = rt.pairs and row.kind in ("coef", "beneath", "stat") and j % 2 == 0
            cells.append(_html_cell(c, "td", "pub" if pub else ""))
            j += c.span
        out.append(f'<tr{cls} data-term="{html.escape(row.term)}"><td class="stub">{html.escape(row.label)}</td>'
                   f"{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return out


def html_page(body: str, lang: str, title: str) -> str:
    """A self-contained page around table fragments (inline CSS, no script, no network)."""
    code = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{code}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>body {{ font: 14px/1.45 'Times New Roman', "
            f"'Noto Serif CJK SC', 'Noto Sans CJK SC', serif; margin: 24px; }}{HTML_CSS}</style>\n</head>\n"
            f"<body>\n{body}</body>\n</html>\n")


# ---------------------------------------------------------------------------------------------- Word
def _border(cell: object, **edges: str) -> None:
    """Set cell borders (python-docx has no API for them): edges top/bottom = "single:12" (size in 1/8 pt)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge, spec in edges.items():
        val, size = spec.split(":")
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), val)
        el.set(qn("w:sz"), size)
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)


def _set_text(cell: object, c: LCell | None, text: str, *, align: str, size: float, east_asia: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    para = cell.paragraphs[0]  # type: ignore[attr-defined]
    para.alignment = WD_ALIGN_PARAGRAPH.LEFT if align == "l" else WD_ALIGN_PARAGRAPH.CENTER
    para.paragraph_format.space_after = Pt(0)
    para.paragraph_format.space_before = Pt(0)
    runs = [(text, False)] if c is None else [(c.text, False)] + ([(c.stars, True)] if c.stars else [])
    for t, sup in runs:
        run = para.add_run(t)
        run.font.size = Pt(size)
        run.font.name = "Times New Roman"
        run.font.superscript = sup
        rpr = run._element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is not None:
            rfonts.set(qn("w:eastAsia"), east_asia)


def _no_wrap(cell: object) -> None:
    from docx.oxml import OxmlElement

    tc_pr = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    tc_pr.append(OxmlElement("w:noWrap"))


def _docx_grid(doc: object, rt: RegTable, *, size: float, label_in: float, col_in: float) -> None:
    from docx.shared import Inches

    n_head = len(rt.header)
    table = doc.add_table(rows=n_head + len(rt.rows), cols=rt.n_leaf + 1)  # type: ignore[attr-defined]
    table.autofit = False
    widths = [Inches(label_in)] + [Inches(col_in)] * rt.n_leaf
    for j, col in enumerate(table.columns):  # the grid (LibreOffice reads it) and every cell (Word reads those)
        col.width = widths[j]
    for row in table.rows:
        for j, cell in enumerate(row.cells):
            cell.width = widths[j]
            _no_wrap(cell)
    east_asia = "SimSun"

    def fill(i: int, cells: list[LCell]) -> None:
        col = 1
        for c in cells:
            cell = table.cell(i, col)
            if c.span > 1:
                cell = cell.merge(table.cell(i, col + c.span - 1))
            _set_text(cell, c, "", align="c", size=size, east_asia=east_asia)
            col += c.span

    for i, hrow in enumerate(rt.header):
        _set_text(table.cell(i, 0), None, rt.stub if i == 0 else "", align="l", size=size, east_asia=east_asia)
        fill(i, hrow)
    for j in range(rt.n_leaf + 1):
        _border(table.cell(0, j), top="single:12")
        _border(table.cell(n_head - 1, j), bottom="single:6")
    for i, row in enumerate(rt.rows, start=n_head):
        _set_text(table.cell(i, 0), None, row.label, align="l", size=size, east_asia=east_asia)
        fill(i, row.cells)
        if row.rule_above:
            for j in range(rt.n_leaf + 1):
                _border(table.cell(i, j), top="single:4")
    last = n_head + len(rt.rows) - 1
    for j in range(rt.n_leaf + 1):
        _border(table.cell(last, j), bottom="single:12")


def to_docx(rt: RegTable, document: object | None = None) -> object:
    """The table (title, three-line table, notes) added to `document` (a new python-docx Document when None,
    landscape when a panel has more than six number columns); returns the document. Columns have fixed widths
    and numbers never wrap; tables wider than twelve number columns print as stacked panels."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Inches, Pt

    doc = document if document is not None else Document()
    panels = rt.panels()
    widest = max(p.n_leaf for p in panels)
    sec = doc.sections[-1]  # type: ignore[attr-defined]
    if document is None:
        for side in ("left_margin", "right_margin"):
            setattr(sec, side, Inches(0.8))
        if widest > 6:
            sec.orientation = WD_ORIENT.LANDSCAPE
            sec.page_width, sec.page_height = sec.page_height, sec.page_width
    usable = (sec.page_width - sec.left_margin - sec.right_margin) / 914400  # EMU per inch
    size = 10.5 if widest <= 6 else 9 if widest <= 9 else 8
    label_in = min(1.7, 0.2 + 0.09 * size * max(len(r.label) for r in rt.rows) / (1.6 if rt.lang == "zh" else 1))
    label_in = max(label_in, 0.8)
    col_in = min(1.0, (usable - label_in) / widest)
    title = doc.add_paragraph()  # type: ignore[attr-defined]
    run = title.add_run(rt.title)
    run.bold = True
    run.font.size = Pt(11)
    for k, panel in enumerate(panels):
        if k:
            doc.add_paragraph()  # type: ignore[attr-defined]
        _docx_grid(doc, panel, size=size, label_in=label_in, col_in=col_in)
    for n in rt.notes:
        p = doc.add_paragraph()  # type: ignore[attr-defined]
        r = p.add_run(n)
        r.font.size = Pt(9)
        p.paragraph_format.space_after = Pt(0)
    return doc


def render_tables(tables: list[RegTable], fmt: str, *, standalone: bool = False) -> str:
    """Text formats (latex, md, html) of several tables, one after another (one document when standalone)."""
    if fmt == "latex":
        return latex_document(tables) if standalone else "\n".join(to_latex(t) for t in tables)
    if fmt == "md":
        return "\n".join(to_markdown(t) for t in tables)
    if fmt == "html":
        body = "\n".join(to_html(t) for t in tables)
        return html_page(body, tables[0].lang if tables else "en", "ctfp tables") if standalone else body
    raise ValueError(f"format {fmt!r} is not text; use write_tables")


def write_tables(tables: list[RegTable], fmt: str, path: str | Path, *, standalone: bool = False) -> Path:
    """Write several tables to one file, atomically (docx: one document, a table after another)."""
    from ctfp.core.atomic import atomic_path, write_text

    path = Path(path)
    if fmt == "docx":
        doc = None
        for t in tables:
            if doc is not None:
                doc.add_paragraph()  # type: ignore[attr-defined]
            doc = to_docx(t, doc)
        with atomic_path(path) as tmp:
            doc.save(str(tmp))  # type: ignore[union-attr]
        return path
    return write_text(path, render_tables(tables, fmt, standalone=standalone))


def write_table(rt: RegTable, fmt: str, path: str | Path, *, standalone: bool = False) -> Path:
    """Write `rt` in `fmt` ("latex" | "docx" | "md" | "html") to `path`, atomically. LaTeX is the `table`
    float to `\\input` (standalone: a document that compiles on its own)."""
    from ctfp.core.atomic import atomic_path, write_text

    path = Path(path)
    if fmt == "latex":
        return write_text(path, to_latex(rt, standalone=standalone))
    if fmt == "md":
        return write_text(path, to_markdown(rt))
    if fmt == "html":
        return write_text(path, to_html(rt, standalone=True))
    if fmt == "docx":
        doc = to_docx(rt)
        with atomic_path(path) as tmp:
            doc.save(str(tmp))  # type: ignore[attr-defined]
        return path
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "LRow", "to_docx", "to_html", "to_latex", "to_markdown", "write_table"]

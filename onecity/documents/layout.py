"""Fields found by label text and geometry, not by one layout's coordinates.

A form pairs labels with values in a handful of ways, and a reader that knows them all reads
printings it has never seen:

* **inline** — ``住所：上海市…`` on one line, or several pairs on one line (``性别 男 民族 汉``):
  each line is cut at every label it contains (:meth:`Form.tokens`), and a value runs from its
  label to the next label;
* **beside** — the label in a column, the value to its right on the same row, or (a ruled table
  whose label is centred in a tall cell) on a nearby row of the value column;
* **stacked** — a small label above its value.

A value may wrap onto the lines below (:meth:`Form.block`): a continuation starts where the
value started (left-aligned), follows at the value's own line spacing, and **stops at the next
field** — a line that starts with a label, or a line with another label close on its left (the
next row of a table or a form, whose label the recogniser may have read badly: it is
recognised by where it is, not only by what it says). This is what keeps a licence's address
from swallowing the business scope printed below it.

Labels that also occur inside values (``面积`` in ``房屋建筑面积``, ``名称`` in
``货物或应税劳务、服务名称``) count mid-line only after a space, punctuation or another label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from onecity.documents.ocr import OcrLine


class PageLike(Protocol):
    """What a form needs of a page (:class:`onecity.documents.extract.Page`)."""

    lines: list[OcrLine]
    slope: float

    def reading_order(self) -> list[OcrLine]: ...


#: Labels that are also words inside values: mid-line, they need a boundary before them.
AMBIGUOUS = frozenset({"面积", "名称", "地址", "住址", "用途", "电话", "编号", "类型", "日期", "住所", "出生"})
_BOUNDARY = set(":;,.()、/|[]<>《》")


@dataclass(frozen=True)
class Token:
    """A label found in a line: character span in the line's normalised text."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Segment:
    """Part of a line that is a value: the line, its character span and where it starts on the page."""

    line: OcrLine
    start: int
    end: int
    x: float
    text: str


class Form:
    """The labels of one document type located on a page, and the values beside them."""

    def __init__(self, page: PageLike, labels: Iterable[str], norm: Callable[[str], str]) -> None:
        self.page = page
        self.norm = norm
        self.labels = sorted({norm(lab) for lab in labels}, key=len, reverse=True)
        self.lines = self._join_split_labels(list(page.lines))
        self._tokens: dict[int, tuple[str, list[Token]]] = {}
        for ln in self.lines:
            self._tokens[id(ln)] = self._scan(ln)

    def _join_split_labels(self, lines: list[OcrLine]) -> list[OcrLine]:
        """A letter-spaced label (``名　　称：``) is often read as two boxes, ``名`` and ``称：上海…``:
        a one- or two-character line is joined to its right neighbour when together they make a label."""
        out = list(lines)
        for ln in sorted(lines, key=lambda item: item.rect[0]):
            head = self.norm(ln.text)
            if not 0 < len(head) <= 2 or ln not in out:
                continue
            h = ln.height
            row = [
                other
                for other in out
                if other is not ln
                and abs(self._row_y(other) - self._row_y(ln)) < 0.5 * max(h, other.height)
                and 0 <= other.rect[0] - ln.rect[2] < 4 * h
            ]
            if not row:
                continue
            nxt = min(row, key=lambda other: other.rect[0])
            joined = head + self.norm(nxt.text)
            if not any(joined.startswith(lab) and len(lab) > len(head) for lab in self.labels):
                continue
            quad = (ln.quad[0], nxt.quad[1], nxt.quad[2], ln.quad[3])
            out[out.index(ln)] = OcrLine(head + nxt.text, min(ln.score, nxt.score), quad)
            out.remove(nxt)
        return out

    def reading_order(self) -> list[OcrLine]:
        ordered = sorted(self.lines, key=lambda ln: (self._row_y(ln), ln.centre[0]))
        rows: list[list[OcrLine]] = []
        for ln in ordered:
            if rows and abs(self._row_y(rows[-1][0]) - self._row_y(ln)) < 0.5 * max(ln.height, rows[-1][0].height):
                rows[-1].append(ln)
            else:
                rows.append([ln])
        return [ln for row in rows for ln in sorted(row, key=lambda item: item.centre[0])]

    # -- labels in a line ----------------------------------------------------------------------

    def _scan(self, ln: OcrLine) -> tuple[str, list[Token]]:
        chars: list[str] = []
        spaced: list[bool] = []
        gap = False
        for ch in ln.text:
            if ch in " 　\t":
                gap = True
                continue
            out = self.norm(ch)
            for c in out:
                chars.append(c)
                spaced.append(gap)
                gap = False
        text = "".join(chars)
        taken = [False] * len(text)
        found: list[Token] = []
        for lab in self.labels:
            start = 0
            while (i := text.find(lab, start)) >= 0:
                j = i + len(lab)
                start = i + 1
                if any(taken[i:j]):
                    continue
                if i > 0 and lab in AMBIGUOUS and not (spaced[i] or text[i - 1] in _BOUNDARY or taken[i - 1]):
                    continue
                found.append(Token(i, j, lab))
                for k in range(i, j):
                    taken[k] = True
        # a label read twice over (名称 inside 企业名称 is already taken) — keep the order of the line
        return text, sorted(found, key=lambda t: t.start)

    def text(self, ln: OcrLine) -> str:
        return self._tokens[id(ln)][0]

    def tokens(self, ln: OcrLine) -> list[Token]:
        return self._tokens[id(ln)][1]

    def starts_with_label(self, ln: OcrLine) -> bool:
        toks = self.tokens(ln)
        return bool(toks) and self.text(ln)[: toks[0].start].strip(":()|") == ""

    def _x_at(self, ln: OcrLine, index: int) -> float:
        n = max(1, len(self.text(ln)))
        return ln.quad[0][0] + (index / n) * (ln.quad[1][0] - ln.quad[0][0])

    def segment(self, ln: OcrLine, start: int) -> Segment | None:
        """The value text of ``ln`` from ``start`` to the next label (None if empty)."""
        text = self.text(ln)
        end = next((t.start for t in self.tokens(ln) if t.start >= start), len(text))
        value = text[start:end].strip(":|")
        if not value:
            return None
        lead = len(text[start:end]) - len(text[start:end].lstrip(":|"))
        return Segment(ln, start + lead, end, self._x_at(ln, start + lead), value)

    def leading(self, ln: OcrLine) -> Segment | None:
        """The line's text before its first label, if the line does not start with one."""
        if self.starts_with_label(ln):
            return None
        return self.segment(ln, 0)

    # -- geometry ------------------------------------------------------------------------------

    def _row_y(self, ln: OcrLine) -> float:
        x, y = ln.centre
        return y - self.page.slope * x

    def _left_neighbour(self, ln: OcrLine, x: float) -> OcrLine | None:
        """A line on ``ln``'s row ending just left of ``x`` (a label column), if any."""
        y, h = self._row_y(ln), ln.height
        best = None
        for other in self.lines:
            if other is ln:
                continue
            if abs(self._row_y(other) - y) > 0.6 * max(h, other.height):
                continue
            right = other.rect[2]
            if (
                x - 9 * h < right <= x + 0.2 * h
                and other.rect[0] < x - 0.5 * h
                and (best is None or right > best.rect[2])
            ):
                best = other
        return best

    def _starts_like_label(self, ln: OcrLine) -> bool:
        """The line begins with a label of four or more characters read with one wrong (经营范园)."""
        text = self.text(ln)
        return any(
            len(lab) >= 4 and sum(a != b for a, b in zip(text[: len(lab)], lab, strict=False)) == 1
            for lab in self.labels
            if len(text) >= len(lab)
        )

    def _label_left_on_row(self, ln: OcrLine, x: float, anchor: OcrLine | None) -> bool:
        y, h = self._row_y(ln), ln.height
        return any(
            other is not ln
            and other is not anchor
            and other.rect[2] <= x
            and abs(self._row_y(other) - y) < 0.6 * max(h, other.height)
            and self.starts_with_label(other)
            for other in self.lines
        )

    def _aligned_below(self, last: OcrLine, x: float, step: float | None) -> OcrLine | None:
        y = self._row_y(last)
        h = last.height
        best = None
        for ln in self.lines:
            dy = self._row_y(ln) - y
            limit = 1.3 * step if step else 1.65 * h
            if not 0.6 * h < dy < limit:
                continue
            if abs(ln.quad[0][0] - (x - self.page.slope * dy)) > 0.9 * max(h, ln.height):
                continue
            if best is None or dy < self._row_y(best) - y:
                best = ln
        return best

    def block(self, first: Segment, anchor: OcrLine | None, *, max_lines: int = 4) -> list[Segment]:
        """``first`` and the lines that continue it (wrapped value), stopping at the next field."""
        out = [first]
        step: float | None = None
        while len(out) < max_lines:
            last = out[-1].line
            nxt = self._aligned_below(last, first.x, step)
            if nxt is None or self.starts_with_label(nxt) or self._starts_like_label(nxt):
                break
            beside = self._left_neighbour(nxt, first.x)
            if beside is not None and beside is not anchor:
                break  # the next row's label (however it was read) is on this line's left
            if self._label_left_on_row(nxt, first.x, anchor):
                break  # a label further left on the row: the next row of a wide label column
            seg = self.leading(nxt)
            if seg is None:
                break
            step = self._row_y(nxt) - self._row_y(last)
            out.append(seg)
            if seg.end < len(self.text(nxt)):
                break  # another label follows on the same line: the value ends here
        return out

    # -- pairing -------------------------------------------------------------------------------

    def anchors(self, variants: Iterable[str]) -> list[tuple[OcrLine, Token]]:
        """Where the labels are, in reading order. When none is read exactly, a box standing alone
        with a label's length and all but one of its characters (``性剂`` for 性别, a blurred
        photo) is taken for it: the box's place in the form says what it is."""
        wanted = {self.norm(v) for v in variants}
        out = []
        for ln in self.reading_order():
            for tok in self.tokens(ln):
                if tok.label in wanted:
                    out.append((ln, tok))
        if out:
            return out
        for ln in self.reading_order():
            text = self.text(ln)
            bare = text.rstrip(":|")
            if self.tokens(ln):
                continue
            for lab in sorted(wanted, key=len, reverse=True):
                if len(lab) >= 2 and len(bare) == len(lab) and sum(a != b for a, b in zip(bare, lab, strict=True)) == 1:
                    out.append((ln, Token(0, len(bare), lab)))
                    break
        return out

    def values(self, variants: Iterable[str], *, multiline: bool = False, below: bool = True) -> list[list[Segment]]:
        """Candidate values for a field printed after any of ``variants``, best first."""
        out = []
        for ln, tok in self.anchors(variants):
            found = self.value_at(ln, tok, multiline=multiline, below=below)
            if found:
                out.append(found)
        return out

    def value_at(self, ln: OcrLine, tok: Token, *, multiline: bool = False, below: bool = True) -> list[Segment]:
        """The value of one label: after it on its line, else beside it, else (``below``) under it."""
        seg = self.segment(ln, tok.end)
        if seg is not None:
            return self.block(seg, None) if multiline and seg.end == len(self.text(ln)) else [seg]
        if any(t.start >= tok.end for t in self.tokens(ln)):
            return []  # the next label follows at once: the value is missing on this line
        right = self._right(ln)
        if right is not None:
            return self._upwards(right, ln) if multiline else [right]
        if below:
            under = self._below(ln)
            if under is not None:
                return self.block(under, None) if multiline else [under]
        return []

    def _right(self, anchor: OcrLine) -> Segment | None:
        """The value right of a label: on its row, else on a nearby row of the value column (a
        label centred in a tall table cell)."""
        ay, h = self._row_y(anchor), anchor.height
        right_edge = anchor.rect[2]
        same_row: list[tuple[float, Segment]] = []
        near: list[tuple[float, Segment]] = []
        for ln in self.lines:
            if ln is anchor:
                continue
            dy = abs(self._row_y(ln) - ay)
            # on the label's row a value's box may overlap the label's (a letter-spaced 名　称： read
            # as 名 + 称： with the value's box reaching back over the colon); elsewhere barely
            overlap = 1.5 * h if dy < 0.55 * max(h, ln.height) else 0.3 * h
            if ln.rect[0] < right_edge - overlap:
                continue
            seg = self.leading(ln)
            if seg is None:
                continue
            dx = ln.rect[0] - right_edge
            if dy < 0.55 * max(h, ln.height) and dx < 25 * h:
                same_row.append((dx, seg))
            elif dy < 2.6 * h and dx < 4 * h:
                near.append((dy, seg))
        if same_row:
            return min(same_row, key=lambda p: p[0])[1]
        if near:
            seg = min(near, key=lambda p: p[0])[1]
            if self._left_neighbour(seg.line, seg.x) in (None, anchor):
                return seg
        return None

    def _upwards(self, seg: Segment, anchor: OcrLine) -> list[Segment]:
        """A value found beside its label may have started a line or two above (centred label)."""
        first = seg
        for _ in range(3):
            y, h = self._row_y(first.line), first.line.height
            above = [
                ln
                for ln in self.lines
                if 0.6 * h < y - self._row_y(ln) < 1.65 * h and abs(ln.quad[0][0] - first.x) < 0.9 * h
            ]
            if not above:
                break
            ln = min(above, key=lambda item: y - self._row_y(item))
            up = self.leading(ln)
            if up is None or self._left_neighbour(ln, up.x) not in (None, anchor):
                break
            if self._row_y(ln) < self._row_y(anchor) - 2.6 * anchor.height:
                break
            first = up
        return self.block(first, anchor)

    def _below(self, anchor: OcrLine) -> Segment | None:
        """A stacked value: the line under a label, starting near the label's left edge."""
        ay, h = self._row_y(anchor), anchor.height
        cands = []
        for ln in self.lines:
            dy = self._row_y(ln) - ay
            if 0.5 * h < dy < 2.8 * h and abs(ln.quad[0][0] - anchor.quad[0][0]) < 2.5 * h:
                seg = self.leading(ln)
                if seg is not None:
                    cands.append((dy, seg))
        return min(cands, key=lambda p: p[0])[1] if cands else None

"""The words crawler: every page a person can reach, read for raw keys and text in the other language.

A signed-in client starts at the home page and the navigation and follows same-site links
(breadth first, bounded: at most ``PER_SHAPE`` pages of one shape, where a shape is the path
with its identifiers replaced, and ``MAX_PAGES`` in all). Each HTML page's visible text (and
the attributes people read: ``title``, ``placeholder``, ``aria-label``, ``alt``) is checked:

- no raw keys: dotted keys (``services.case.task_decide``), ``prefix:key``
  (``cert:business_licence``, ``user:…``, ``system:ops:router``), ``snake_case`` words
  (``k_registry``, ``business_licence``), UUIDs whole or cut, bare division codes (a hukou
  ``310104``, a grid or township code);
- text in ``code``, ``kbd`` or ``samp`` or an element of class ``code`` is an identifier shown
  on purpose (a division code beside its name, a dataset's field names) and is not read;
- on an English page no Chinese words of the platform's own (what its Chinese messages,
  templates and code say, :func:`platform_chinese`) outside an element marked ``lang="zh…"``;
  names, addresses and what people typed stay in the language they were written in;
- on a Chinese page no run of three or more English words outside an element marked
  ``lang="en"`` (or ``code``/``kbd``).
"""

from __future__ import annotations

import ast
import functools
import re
import time
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.web_support import post_sign_in

PER_SHAPE = 2
MAX_PAGES = 120

#: Links never followed: they change state, leave HTML, or are the API.
SKIP_PREFIXES = ("/static/", "/api/", "/open311/", "/sta/", "/lang/", "/a11y/", "/logout", "/prefs/", "/openapi.json")
SKIP_SUFFIXES = (".csv", ".pdf", ".json", ".geojson", ".png", ".jpg", ".zip", ".xml", ".ttl", ".jsonld", ".pbf")

ID_PART = re.compile(r"^(?:[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{32}|\d+|[0-9A-Z]{6,}|[A-Za-z]*-?\d[\w-]*)$")

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
CJK_PUNCT_ONLY = re.compile(r"[\u3000-\u303f\uff00-\uffef]+")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{8}(?:-[0-9a-f]{0,4})?…")
DOTTED = re.compile(r"(?<![\w@/.-])[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*){2,}(?![\w@/-])")
PREFIXED = re.compile(r"(?<![\w/.-])(?!https?:|mailto:|urn:|data:)[a-z][a-z_]{1,}:[a-z_][\w:.-]*")
SNAKE = re.compile(r"(?<![\w@/.:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-])")
DIVISION = re.compile(r"(?<![\w-])31\d{4}(?:\d{3}(?:\d{3})?)?(?![\w-])")
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z]+(?:[ ,'’-]+[A-Za-z][a-z]+){2,}")


@dataclass
class Problem:
    path: str
    kind: str
    found: str
    context: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} {self.found!r} in {self.context!r}"


@dataclass
class Crawl:
    user: str
    lang: str
    visited: list[str] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HIDDEN = {"script", "style", "template", "noscript", "svg"}
READ_ATTRS = ("title", "placeholder", "aria-label", "alt")


class _Reader(HTMLParser):
    """Text runs with the language they are marked in, and the links."""

    def __init__(self, page_lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str, bool]] = []  # tag, lang, hidden
        self.page_lang = page_lang
        self.runs: list[tuple[str, str]] = []  # (lang, text)
        self.links: list[str] = []

    def _lang(self) -> str:
        return self.stack[-1][1] if self.stack else self.page_lang

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][2]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        lang = a.get("lang") or self._lang()
        if tag in ("code", "kbd", "samp") or "code" in a.get("class", "").split():
            lang = "code"  # an identifier shown on purpose (a division code, a dataset's field name)
        hidden = self._hidden() or tag in HIDDEN or "hidden" in a or a.get("type") == "hidden"
        if tag == "html":
            self.page_lang = lang
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if not hidden:
            for name in READ_ATTRS:
                if a.get(name):
                    self.runs.append((lang, a[name]))
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.runs.append((lang, a["value"]))
        if tag not in VOID:
            self.stack.append((tag, lang, hidden))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.runs.append((self._lang(), " ".join(data.split())))


def read_page(text: str, page_lang: str) -> tuple[list[tuple[str, str]], list[str]]:
    reader = _Reader(page_lang)
    reader.feed(text)
    reader.close()
    return reader.runs, reader.links


def _excerpt(text: str, found: str) -> str:
    i = text.find(found)
    return text[max(0, i - 40) : i + len(found) + 40]


#: Modules whose Chinese is data (generated names, streets, scanned letters, the demo's
#: people), not words of the platform's own.
DATA_MODULES = (
    "onecity/synth/",  # the synthetic city: names, streets, devices, scanned letters
    "onecity/documents/",  # what printed documents say
    "onecity/demo.py",  # the demo's people
    "onecity/hub/registries/identifiers.py",
    "onecity/hub/registries/census.py",
    "onecity/hub/geography/names.py",
)


@functools.cache
def platform_chinese() -> frozenset[str]:
    """Every run of Chinese the platform itself writes (messages, templates, string literals
    outside :data:`DATA_MODULES`), less the Chinese its English messages quote on purpose
    ("one network (一网通办)")."""
    from onecity.web import i18n

    root = Path(i18n.__file__).resolve().parents[1]
    runs: set[str] = set()
    for value in i18n.messages("zh").values():
        runs.update(CJK.findall(value))
    for path in root.rglob("*"):
        rel = path.relative_to(root.parent).as_posix()
        if rel.startswith(DATA_MODULES) or path.suffix not in (".py", ".html") or path.name == "i18n.py":
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            runs.update(CJK.findall(text))
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                runs.update(CJK.findall(node.value))
    quoted = {r for value in i18n.messages("en").values() for r in CJK.findall(value)}
    return frozenset(r for r in runs - quoted if not CJK_PUNCT_ONLY.fullmatch(r))


def check_runs(path: str, lang: str, runs: list[tuple[str, str]]) -> list[Problem]:
    """The problems in one page's text runs (``lang`` is the reader's language, zh or en)."""
    out: list[Problem] = []
    ours = platform_chinese() if lang == "en" else frozenset()
    for marked, text in runs:
        if marked == "code":
            continue
        for kind, pattern in (
            ("uuid", UUID),
            ("dotted key", DOTTED),
            ("prefixed key", PREFIXED),
            ("snake_case key", SNAKE),
            ("division code", DIVISION),
        ):
            for m in pattern.finditer(text):
                out.append(Problem(path, kind, m.group(0), _excerpt(text, m.group(0))))
        if lang == "en" and not marked.startswith("zh"):
            for m in CJK.finditer(text):
                if m.group(0) not in ours:
                    continue
                out.append(Problem(path, "Chinese on an English page", m.group(0), _excerpt(text, m.group(0))))
        if lang == "zh" and not marked.startswith("en"):
            for m in ENGLISH_RUN.finditer(text):
                out.append(Problem(path, "English on a Chinese page", m.group(0), _excerpt(text, m.group(0))))
    return out


def shape(path: str) -> str:
    """The path with identifiers replaced (``/services/cases/<id>``), query names kept, values dropped."""
    parts = urlsplit(path)
    segs = ["<id>" if ID_PART.match(s) else s for s in parts.path.split("/")]
    query = "&".join(sorted(q.split("=", 1)[0] for q in parts.query.split("&") if q))
    return "/".join(segs) + ("?" + query if query else "")


def _same_site(href: str, base: str) -> str | None:
    if href.startswith(("http://testserver", "https://testserver")):
        href = urlsplit(href)._replace(scheme="", netloc="").geturl()
    if not href.startswith("/") or href.startswith("//"):
        if href.startswith("?"):
            return urlsplit(base).path + href
        return None
    href = href.split("#", 1)[0]
    path = urlsplit(href).path
    if path.startswith(SKIP_PREFIXES) or path.endswith(SKIP_SUFFIXES) or path in ("/login", "/logout"):
        return None
    return href


def crawl(
    client: TestClient,
    user: str,
    lang: str,
    *,
    starts: list[str],
    allowed: Any = None,
    max_pages: int = MAX_PAGES,
    checked: set[str] | None = None,
) -> Crawl:
    """Visit what ``client`` (already signed in, in ``lang``) can reach from ``starts``.

    Paths in ``checked`` (pages everyone sees, read already on the anonymous crawl) are not
    fetched again, but their links are still followed from the page that named them."""
    result = Crawl(user, lang)
    seen: set[str] = set(checked or ())
    shapes: dict[str, int] = {}
    queue: deque[str] = deque()

    def push(path: str) -> None:
        if path in seen:
            return
        s = shape(path)
        if shapes.get(s, 0) >= PER_SHAPE:
            return
        shapes[s] = shapes.get(s, 0) + 1
        seen.add(path)
        queue.append(path)

    for s in starts:
        push(s)
    while queue and len(result.visited) < max_pages:
        path = queue.popleft()
        started = time.perf_counter()
        r = client.get(path, follow_redirects=True)
        result.seconds[path] = time.perf_counter() - started
        final = r.url.path + (f"?{r.url.query.decode()}" if r.url.query else "")
        if r.status_code >= 500 or (r.status_code >= 400 and r.status_code not in (403, 404)):
            result.failed.append((path, r.status_code))
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        result.visited.append(path)
        runs, links = read_page(r.text, lang)
        problems = check_runs(path, lang, runs)
        if allowed is not None:
            problems = [p for p in problems if not allowed(p)]
        result.problems.extend(problems)
        for href in links:
            nxt = _same_site(href, final)
            if nxt is not None:
                push(nxt)
    return result


def crawl_persona(client: TestClient, user: str, password: str | None, lang: str, **kwargs: Any) -> Crawl:
    """Sign ``user`` in (``None``: stay anonymous) with fresh cookies in ``lang`` and crawl from the navigation."""
    client.cookies.clear()
    client.get(f"/lang/{lang}?next=/")
    if password is not None:
        r = post_sign_in(client, user, password)
        assert r.status_code == 303, f"{user} could not sign in: {r.status_code}"
    home = client.get("/")
    _runs, links = read_page(home.text, lang)
    starts = ["/"] + [p for h in links if (p := _same_site(h, "/")) is not None]
    if password is None:
        # the sign-in page is never followed as a link (a signed-in crawl would lose its session there);
        # its confirmations and its links (registration, forgotten password) are read from here
        starts += ["/login", "/login?done=registered", "/login?done=reset"]
    try:
        return crawl(client, user, lang, starts=starts, **kwargs)
    finally:
        client.cookies.clear()

"""Text as coplib takes it: one-line names and titles, multi-line bodies without control
characters, HTML bodies turned into plain text, tags normalised, and anything over a limit
cut with a visible mark."""

from __future__ import annotations

import html
import re
from typing import Final

from coplib.domain import validation as v
from coplib.domain.errors import InvalidInputError

TITLE_MARK: Final = " […]"
BODY_MARK: Final = "\n\n[… truncated: the original is longer]"

_LINE_BREAKS: Final = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NOT_ONE_LINE: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BLANK_LINES: Final = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_TRAILING_SPACE: Final = re.compile(r"[ \t]+\n")
_SPACES: Final = re.compile(r"\s+")
_TAGS_ANGLED: Final = re.compile(r"<([^<>]*)>")
_HTML: Final = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>|<!--.*?-->", re.S)
_ATTR: Final = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))")

_PARAGRAPHS: Final = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr", "dl", "dt", "dd", "figure"}
)


def one_line(text: str) -> str:
    """A name or title: every run of white space or control characters (line breaks
    included) becomes one space."""
    return _NOT_ONE_LINE.sub(" ", text).strip()


def multi_line(text: str, *, keep_indent: bool = False) -> str:
    """A body: line breaks as ``\\n``, control characters other than newline and tab taken
    out, trailing spaces and runs of blank lines trimmed (and leading white space, unless
    `keep_indent`: the first line's indent is kept, as a code block's)."""
    text = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))
    text = _BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", text))
    return text.rstrip().lstrip("\n") if keep_indent else text.strip()


def fit_chars(text: str, limit: int, mark: str = TITLE_MARK) -> tuple[str, bool]:
    """`text` within `limit` characters, cut with `mark` when longer; whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[: limit - len(mark)].rstrip() + mark, True


def fit_bytes(text: str, limit: int, mark: str = BODY_MARK) -> tuple[str, bool]:
    """`text` within `limit` bytes of UTF-8, cut (between characters) with `mark` when longer."""
    if len(text) * 4 <= limit:
        return text, False
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text, False
    room = limit - len(mark.encode("utf-8"))
    return data[:room].decode("utf-8", "ignore").rstrip() + mark, True


def tags(raw: str | None) -> tuple[list[str], int]:
    """The tags of a post written ``<a><b>`` or ``|a|b|``, normalised as coplib normalises
    them, in order, without duplicates, at most `TAGS_MAX`; and how many were dropped (not a
    valid coplib tag, or one too many)."""
    if not raw:
        return [], 0
    raw = raw.strip()
    if raw.startswith("<"):
        names = _TAGS_ANGLED.findall(raw)
    elif "|" in raw:
        names = raw.split("|")
    else:
        names = raw.split()
    kept: list[str] = []
    dropped = 0
    for name in names:
        tag = v.normalise_tag(name)
        if not tag or tag in kept:
            continue
        try:
            v.check_tag("$.tags", tag)
        except InvalidInputError:
            dropped += 1
            continue
        if len(kept) == v.TAGS_MAX:
            dropped += 1
            continue
        kept.append(tag)
    return kept, dropped


def _attributes(text: str) -> dict[str, str]:
    return {m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "") for m in _ATTR.finditer(text)}


def _prefixed(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.split("\n"))


def html_to_text(body: str) -> str:
    """The plain text of an HTML post body (what Stack Exchange renders from Markdown):
    paragraphs as blank lines, list items as ``- ``, code blocks indented by four spaces,
    inline code in backticks, quotes as ``> ``, links as ``text (address)``, images as
    ``[image: alt] (address)``, entities decoded. Anything else loses its tags."""
    if "<" not in body:
        return multi_line(html.unescape(_SPACES.sub(" ", body)))
    # A stack of open containers whose text is formatted when they close: (tag, attrs, parts).
    stack: list[tuple[str, dict[str, str], list[str]]] = [("", {}, [])]
    pre = 0
    position = 0
    for match in _HTML.finditer(body):
        text = body[position : match.start()]
        position = match.end()
        if text:
            stack[-1][2].append(html.unescape(text if pre else _SPACES.sub(" ", text)))
        closing, name = match.group(1), (match.group(2) or "").lower()
        if not name:  # a comment
            continue
        parts = stack[-1][2]
        if name in ("pre", "blockquote", "a") and not closing:
            stack.append((name, _attributes(match.group(3)) if name == "a" else {}, []))
            pre += name == "pre"
        elif name in ("pre", "blockquote", "a") and closing and len(stack) > 1 and stack[-1][0] == name:
            _, attrs, inner = stack.pop()
            content = "".join(inner)
            parts = stack[-1][2]
            if name == "pre":
                pre -= 1
                parts.append("\n\n" + _prefixed(content.strip("\n"), "    ") + "\n\n")
            elif name == "blockquote":
                parts.append("\n\n" + _prefixed(multi_line(content), "> ") + "\n\n")
            else:
                href = attrs.get("href", "")
                label = content.strip()
                parts.append(f"{label} ({href})" if href and label and href != label else label or href)
        elif name in _PARAGRAPHS:
            parts.append("\n\n")
        elif name == "li":
            parts.append("" if closing else "\n- ")
        elif name == "br":
            parts.append("\n")
        elif name == "hr":
            parts.append("\n\n---\n\n")
        elif name == "code" and not pre:
            parts.append("`")
        elif name == "img" and not closing:
            attrs = _attributes(match.group(3))
            alt, src = attrs.get("alt", "").strip(), attrs.get("src", "")
            parts.append(f"[image: {alt}] ({src})" if alt else f"[image] ({src})")
    tail = body[position:]
    if tail:
        stack[-1][2].append(html.unescape(tail if pre else _SPACES.sub(" ", tail)))
    while len(stack) > 1:  # unclosed containers: keep their text
        _, _, inner = stack.pop()
        stack[-1][2].extend(inner)
    text = "".join(stack[0][2])
    lines = (line if line.startswith("    ") else line.strip(" ") for line in text.split("\n"))
    return multi_line("\n".join(lines), keep_indent=True)

"""Telegram-style text formatting: HTML parse_mode parsing, auto-detected entities, trimming."""

from __future__ import annotations

import re
from typing import Any

# Only these tags are accepted by Telegram; anything else is a hard 400, not silently stripped.
_SUPPORTED_TAGS = {
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
    "tg-time", "span", "pre", "code", "blockquote",
}
_SIMPLE_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "span": "spoiler", "code": "code", "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; str(self) is the detail after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    # Telegram reports positions as UTF-8 byte offsets into the original text.
    return len(src[:index].encode("utf-8"))


def _decode_entity(src: str, i: int) -> tuple[str, int] | None:
    """Decode an HTML entity at src[i] == '&'; None means Telegram keeps the '&' literally."""
    end = src.find(";", i + 1, i + 12)
    if end == -1:
        return None
    body = src[i + 1 : end]
    if body in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[body], end + 1
    match = re.fullmatch(r"#(?:x([0-9a-fA-F]+)|([0-9]+))", body)
    if not match:
        return None
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


def _parse_attributes(src: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes of a start tag from src[j]; returns them and the index of the closing '>'."""
    attrs: dict[str, str] = {}
    n = len(src)
    unclosed = EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
    while True:
        while j < n and src[j].isspace():
            j += 1
        if j >= n:
            raise unclosed
        if src[j] == ">":
            return attrs, j
        name_start = j
        while j < n and not src[j].isspace() and src[j] not in "=>":
            j += 1
        name = src[name_start:j].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(src, begin)}'
            )
        while j < n and src[j].isspace():
            j += 1
        if j >= n or src[j] != "=":
            if tag == "blockquote" and name == "expandable":
                attrs[name] = ""
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(src, begin)}"
            )
        j += 1
        while j < n and src[j].isspace():
            j += 1
        if j >= n:
            raise unclosed
        if src[j] in "'\"":
            quote, j = src[j], j + 1
            value: list[str] = []
            while j < n and src[j] != quote:
                decoded = _decode_entity(src, j) if src[j] == "&" else None
                if decoded:
                    value.append(decoded[0])
                    j = decoded[1]
                else:
                    value.append(src[j])
                    j += 1
            j += 1
            attrs[name] = "".join(value)
        else:
            token_start = j
            while j < n and (src[j].isalnum() or src[j] in ".-"):
                j += 1
            if j < n and not src[j].isspace() and src[j] != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(src, token_start)}"
                )
            attrs[name] = src[token_start:j].lower()
        if j >= n:
            raise unclosed


def _make_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict[str, Any] | None:
    """The MessageEntity a closed tag produces, or None when Telegram would drop it."""
    entity: dict[str, Any] = {"offset": offset, "length": length}
    if tag in _SIMPLE_TYPES:
        entity["type"] = _SIMPLE_TYPES[tag]
        if tag == "code" and attrs.get("class", "").startswith("language-"):
            entity["_language"] = attrs["class"][len("language-") :]
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    elif tag == "a":
        if not attrs.get("href"):
            return None
        entity.update(type="text_link", url=attrs["href"])
    elif tag == "tg-emoji":
        if not attrs.get("emoji-id"):
            return None
        entity.update(type="custom_emoji", custom_emoji_id=attrs["emoji-id"])
    elif tag == "tg-time":
        if not attrs.get("unix", "").isdigit():
            return None
        entity.update(type="date_time", unix_time=int(attrs["unix"]))
        if attrs.get("format"):
            entity["date_time_format"] = attrs["format"]
    return entity


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities); raises EntityParseError like the real server."""
    out: list[str] = []
    position = 0  # UTF-16 offset in the plain text produced so far
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, dict[str, str], int]] = []
    i, n = 0, len(src)
    while i < n:
        char = src[i]
        decoded = _decode_entity(src, i) if char == "&" else None
        if decoded or char != "<":
            text, i = decoded if decoded else (char, i + 1)
            out.append(text)
            position += utf16_len(text)
            continue
        begin, j = i, i + 1
        if j < n and src[j] == "/":
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
            j += 1
            while j < n and not src[j].isspace() and src[j] != ">":
                j += 1
            end_name = src[begin + 2 : j].lower()
            while j < n and src[j].isspace():
                j += 1
            if j >= n or src[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
            tag, attrs, start = stack.pop()
            if end_name and end_name != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            entity = _make_entity(tag, attrs, start, position - start) if position > start else None
            if entity:
                _merge_pre_code(entities, entity)
            i = j + 1
            continue
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        tag = src[begin + 1 : j].lower()
        if tag not in _SUPPORTED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        attrs, j = _parse_attributes(src, j, tag, begin)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, begin)}'
            )
        stack.append((tag, attrs, position))
        i = j + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    return "".join(out), sort_entities(entities)


def _merge_pre_code(entities: list[dict[str, Any]], entity: dict[str, Any]) -> None:
    # <pre><code class="language-x">…</code></pre> is one pre entity with a language, as in Telegram.
    if entity["type"] == "pre" and entities:
        last = entities[-1]
        same_span = (last["offset"], last["length"]) == (entity["offset"], entity["length"])
        if same_span and last["type"] == "code" and "_language" in last:
            entities.pop()
            entity["language"] = last["_language"]
    entities.append(entity)


def sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order entities the way Telegram returns them: by offset, outer (longer) first."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def strip_formatted(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, shifting and clipping entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(size, entity["offset"] + entity["length"] - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


_AUTO_PATTERNS = [
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?(?![\w/])")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram derives from plain text typed by a user (commands, links, mentions...)."""
    found: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue  # e.g. the "@host" inside an email is not also a mention
            taken.append((match.start(), match.end()))
            found.append(
                {"offset": utf16_len(text[: match.start()]), "length": utf16_len(match.group()), "type": kind}
            )
    return sort_entities(found)

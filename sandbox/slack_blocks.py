"""Block Kit to HTML for the sandbox page: the layout blocks, interactive elements and modal inputs.

Interactive elements carry data-* attributes (action id, value, block id); the page's script turns a
click into the same block_actions payload a Slack client sends.
"""

from __future__ import annotations

from html import escape
from typing import Any

from markdown_it import MarkdownIt

from sandbox.slack_mrkdwn import Mrkdwn, emoji_for, emojize

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


class BlockRenderer:
    def __init__(self, mrkdwn: Mrkdwn) -> None:
        self.md = mrkdwn

    # --- text objects -------------------------------------------------------------------------

    def text(self, obj: Any) -> str:
        if isinstance(obj, str):
            return self.md.to_html(obj)
        if not isinstance(obj, dict):
            return ""
        if obj.get("type") == "mrkdwn" and not obj.get("verbatim_off"):
            return self.md.to_html(str(obj.get("text", "")))
        plain = escape(str(obj.get("text", ""))).replace("\n", "<br>")
        return emojize(plain) if obj.get("emoji", True) else plain

    def plain(self, obj: Any) -> str:
        return escape(str(obj.get("text", "") if isinstance(obj, dict) else obj or ""))

    # --- blocks -------------------------------------------------------------------------------

    def blocks(self, blocks: list[dict] | None, errors: dict[str, str] | None = None) -> str:
        return "".join(self.block(b, errors or {}) for b in blocks or [])

    def block(self, block: dict, errors: dict[str, str]) -> str:
        kind = block.get("type")
        bid = escape(str(block.get("block_id", "")))
        if kind == "section":
            body = f'<div class="sk-text">{self.text(block.get("text"))}</div>' if block.get("text") else ""
            if block.get("fields"):
                fields = "".join(f'<div class="sk-field">{self.text(f)}</div>' for f in block["fields"])
                body += f'<div class="sk-fields">{fields}</div>'
            accessory = self.element(block["accessory"], bid) if block.get("accessory") else ""
            return f'<div class="sk-section" data-block-id="{bid}"><div class="sk-main">{body}</div>{accessory}</div>'
        if kind == "header":
            return f'<div class="sk-header">{self.text(block.get("text"))}</div>'
        if kind == "divider":
            return '<hr class="sk-divider">'
        if kind == "context":
            parts = [self.image(e, small=True) if e.get("type") == "image" else f"<span>{self.text(e)}</span>"
                     for e in block.get("elements") or []]
            return f'<div class="sk-context">{"".join(parts)}</div>'
        if kind == "actions":
            items = "".join(self.element(e, bid) for e in block.get("elements") or [])
            return f'<div class="sk-actions" data-block-id="{bid}">{items}</div>'
        if kind == "image":
            title = f'<div class="sk-image-title">{self.plain(block.get("title"))}</div>' if block.get("title") else ""
            return f'<figure class="sk-image">{title}{self.image(block)}</figure>'
        if kind == "rich_text":
            return f'<div class="sk-rich">{"".join(self.rich(e) for e in block.get("elements") or [])}</div>'
        if kind == "markdown":
            return f'<div class="sk-markdown">{_markdown.render(str(block.get("text", "")))}</div>'
        if kind == "input":
            return self.input(block, errors.get(str(block.get("block_id", ""))))
        return ""

    def image(self, element: dict, *, small: bool = False) -> str:
        url = str(element.get("image_url") or "")
        if not url.startswith(("http://", "https://", "/")):
            return ""
        alt = escape(str(element.get("alt_text", "")))
        return f'<img class="{"sk-thumb" if small else "sk-img"}" src="{escape(url)}" alt="{alt}" loading="lazy">'

    # --- interactive elements ------------------------------------------------------------------

    def element(self, el: dict, block_id: str) -> str:
        kind = el.get("type")
        data = (f'data-action-id="{escape(str(el.get("action_id", "")))}" data-block-id="{block_id}"')
        if kind == "button":
            style = escape(str(el.get("style", "")))
            label = self.text(el.get("text"))
            if el.get("url"):  # a link button opens its link (a workspace permalink opens in this page)
                return self.md.link(str(el["url"]), label).replace("<a ", f'<a class="sk-btn {style}" ', 1)
            value = escape(str(el.get("value", "")))
            return f'<button type="button" class="sk-btn {style}" {data} data-value="{value}">{label}</button>'
        if kind in ("static_select", "overflow"):
            options = self.options(el)
            prompt = self.plain(el.get("placeholder")) or ("⋯" if kind == "overflow" else "Choose…")
            return (f'<select class="sk-select" {data} data-kind="{kind}"><option value="">{prompt}</option>'
                    f"{options}</select>")
        if kind == "image":
            return self.image(el)
        return ""

    def options(self, el: dict) -> str:
        initial = (el.get("initial_option") or {}).get("value")
        out = []
        for option in el.get("options") or []:
            value = str(option.get("value", ""))
            selected = " selected" if value == initial else ""
            out.append(f'<option value="{escape(value)}"{selected}>{self.plain(option.get("text"))}</option>')
        return "".join(out)

    def input(self, block: dict, error: str | None) -> str:
        bid = escape(str(block.get("block_id", "")))
        el = block.get("element") or {}
        kind = el.get("type")
        attrs = f'name="{bid}" id="field-{bid}"'
        required = "" if block.get("optional") else " required"
        placeholder = escape(str((el.get("placeholder") or {}).get("text", "")))
        if kind == "plain_text_input" and el.get("multiline"):
            field = f'<textarea {attrs} rows="3" placeholder="{placeholder}"{required}></textarea>'
        elif kind == "plain_text_input":
            field = f'<input {attrs} placeholder="{placeholder}"{required}>'
        elif kind == "static_select":
            field = f'<select {attrs}{required}>{self.options(el)}</select>'
        elif kind == "file_input":
            accept = ",".join("." + t for t in el.get("filetypes") or [])
            field = f'<input type="file" {attrs} accept="{escape(accept)}">'
        elif kind == "datetimepicker":
            field = f'<input type="datetime-local" {attrs}>'
        elif kind == "number_input":
            field = f'<input type="number" {attrs}{required}>'
        else:
            field = f'<input {attrs}{required}>'
        optional = ' <span class="sk-optional">(optional)</span>' if block.get("optional") else ""
        hint = f'<div class="sk-hint">{self.plain(block.get("hint"))}</div>' if block.get("hint") else ""
        err = f'<div class="sk-error" role="alert">{escape(error)}</div>' if error else ""
        return (f'<div class="sk-input" data-kind="{escape(str(kind))}"><label class="sk-label" for="field-{bid}">'
                f'{self.plain(block.get("label"))}{optional}</label>{field}{err}{hint}</div>')

    # --- rich text ----------------------------------------------------------------------------

    def rich(self, el: dict) -> str:
        kind = el.get("type")
        inner = "".join(self.rich_inline(e) for e in el.get("elements") or [])
        if kind == "rich_text_section":
            return f"<div>{inner}</div>"
        if kind == "rich_text_preformatted":
            return f"<pre>{inner}</pre>"
        if kind == "rich_text_quote":
            return f"<blockquote>{inner}</blockquote>"
        if kind == "rich_text_list":
            tag = "ol" if el.get("style") == "ordered" else "ul"
            items = "".join(f"<li>{''.join(self.rich_inline(x) for x in item.get('elements') or [])}</li>"
                            for item in el.get("elements") or [])
            return f"<{tag}>{items}</{tag}>"
        return inner

    def rich_inline(self, el: dict) -> str:
        kind = el.get("type")
        if kind == "text":
            out = escape(str(el.get("text", ""))).replace("\n", "<br>")
        elif kind == "link":
            url = str(el.get("url", ""))
            out = self.md.link(url, escape(str(el.get("text") or url)))
        elif kind == "emoji":
            out = escape(emoji_for(str(el.get("name", ""))) or f":{el.get('name', '')}:")
        elif kind == "user":
            out = f'<span class="mention">@{escape(self.md.user_name(str(el.get("user_id", ""))))}</span>'
        elif kind == "channel":
            out = f'<span class="mention">#{escape(self.md.channel_name(str(el.get("channel_id", ""))))}</span>'
        elif kind == "broadcast":
            out = f'<span class="mention">@{escape(str(el.get("range", "")))}</span>'
        elif kind == "date":
            out = self.md.to_html(f"<!date^{el.get('timestamp', 0)}^{el.get('format', '{time}')}|>")
        elif kind in ("rich_text_section", "rich_text_list", "rich_text_quote", "rich_text_preformatted"):
            return self.rich(el)
        else:
            out = ""
        style = el.get("style") or {}
        for key, tag in (("code", "code"), ("strike", "s"), ("italic", "i"), ("bold", "b")):
            if style.get(key):
                out = f"<{tag}>{out}</{tag}>"
        return out

"""The report's blocks as Markdown (images beside it) or as one self-contained HTML page (images inline)."""

import base64
import html
from typing import List, Tuple

Block = Tuple[str, object]
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 16px}"
    "th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}th{background:#eee}"
    "img{max-width:100%;display:block;margin:8px 0 16px}.caveat{color:#a40}"
)


def markdown(title: str, content: List[Block]) -> str:
    """The blocks as Markdown; images refer to PNG files written beside it."""
    return f"# {title}\n\n" + body(content)


def body(content: List[Block]) -> str:
    """The blocks as Markdown without a title (a section of a longer text)."""
    parts = []
    for kind, value in content:
        if kind == "table":
            parts.append(value.to_markdown(index=False, disable_numparse=True))
        elif kind == "img":
            parts.append(f"![{value[0]}]({value[0]})")
        else:
            parts.append({"h2": "## ", "caveat": "**Note:** ", "p": ""}[kind] + value)
    return "\n\n".join(parts) + "\n"


def to_html(title: str, content: List[Block]) -> str:
    """The blocks as one HTML page with every image inline (base64 PNG): no file or network access needed."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for kind, value in content:
        if kind == "table":
            parts.append(value.to_html(index=False, border=0))
        elif kind == "img":
            data = base64.b64encode(value[1]).decode("ascii")
            parts.append(f'<img alt="{html.escape(value[0])}" src="data:image/png;base64,{data}">')
        else:
            tag = {"h2": "<h2>{}</h2>", "caveat": '<p class="caveat">{}</p>', "p": "<p>{}</p>"}[kind]
            parts.append(tag.format(html.escape(value)))
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>'
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body>\n" + "\n".join(parts) + "\n</body></html>\n"

"""``GET /demo``: a local page that embeds every web channel, so a person can try the desk
from a browser (the chat widget, and the links other web kinds give).

One function builds the whole page from the channels' public links
(:meth:`~engine.channels.base.ChannelAdapter.public_links`): an ``embed_code`` goes into the
page as it is (it is ours: a ``<script>`` tag built from ``public_url``), any other link is
listed. Names and URLs are escaped. It shows nothing that is not already public.
"""

from __future__ import annotations

import html
from typing import Any


async def demo_page(store: Any, base_url: str) -> str:
    """The page's HTML for the enabled channels of ``store``."""
    from engine.channels.registry import REGISTRY

    rows: list[str] = []
    embeds: list[str] = []
    for channel in await store.channels(include_disabled=False):
        known = REGISTRY.get(channel.kind)
        if known is None:
            continue
        links = known.adapter_class().public_links(channel, base_url)
        for key, value in links.items():
            if key == "embed_code":
                embeds.append(value)
                rows.append(f"<li>{html.escape(channel.name)}: the chat widget on this page"
                            " (bottom corner)</li>")
            else:
                url = html.escape(value, quote=True)
                rows.append(f'<li>{html.escape(channel.name)} ({html.escape(key)}):'
                            f' <a href="{url}">{url}</a></li>')
    items = "\n".join(rows) or "<li>No web channel is connected.</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ticketty demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em}}</style>
</head><body>
<h1>ticketty demo site</h1>
<p>This page stands in for a company's website. Chat with the demo desk from here and watch the
agents answer in the terminal.</p>
<ul>
{items}
</ul>
{chr(10).join(embeds)}
</body></html>
"""

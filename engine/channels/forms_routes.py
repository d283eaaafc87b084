"""The forms channel's routes under ``/f/<slug>``: the page, the submission, ``embed.js``.

``GET /f/<slug>`` renders the form with a fresh fill token; the page's address comes from
``_page`` (``embed.js`` passes the embedding page's) or the Referer, and hidden fields that
read the query string take it from this request's. ``POST /f/<slug>`` refuses, each with a
clear page and a count in the channel's health, and never a ticket:

- 413 a body over ``max_body_kb``;
- 429 an address past ``rate_per_minute``/``rate_burst`` (``Retry-After``);
- 422 the honeypot filled in, a token this channel did not sign (or a day old), a page sent
  sooner than ``min_fill_seconds`` after it was made (the form comes back as typed: sending
  it again works), or answers that fail their field's checks (errors next to the fields).

What passes is one message through the host's ingest; the answer is the form's thank-you
page or a 303 to its ``redirect``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from engine.channels.forms_guard import HONEYPOT, MAX_AGE, PAGE, TOKEN, issue, verify
from engine.channels.forms_render import embed_script, form_page, message_page
from engine.channels.forms_submit import Upload, build_message, check
from engine.web.limits import address_key
from engine.web.ratelimit import retry_after

if TYPE_CHECKING:
    from engine.channels.forms import FormsAdapter
    from engine.form_defs import FormDef

MAX_PAGE_URL = 2_000


def _page_url(value: str | None) -> str:
    value = (value or "").strip()
    return value[:MAX_PAGE_URL] if value.startswith(("http://", "https://")) else ""


#: the pages run no script and load nothing: whatever got past escaping could not run either
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={
        "Cache-Control": "no-store", "Referrer-Policy": "strict-origin-when-cross-origin",
        "Content-Security-Policy": CSP, **(headers or {})})


async def _read(request: Request) -> tuple[dict[str, list[str]], dict[str, list[Upload]]]:
    data = await request.form(max_files=20, max_fields=200)
    posted: dict[str, list[str]] = {}
    files: dict[str, list[Upload]] = {}
    try:
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                files.setdefault(key, []).append(Upload(
                    value.filename or "", value.content_type or "", await value.read()))
            else:
                posted.setdefault(key, []).append(value)
    finally:
        await data.close()
    return posted, files


def build_router(adapter: FormsAdapter) -> APIRouter:
    """The routes of ``adapter``'s form (relative to its mount, ``/f/<slug>``)."""
    router = APIRouter()
    settings = adapter.settings
    clock: Callable[[], float] = adapter.host.clock

    async def form_or_404() -> FormDef | Response:
        form = await adapter.form_def()
        if form is None:
            return _html(message_page(None, "This form is not available",
                                      "The form you are looking for was removed."), 404)
        return form

    @router.get("/", response_class=HTMLResponse)
    async def show(request: Request) -> Response:
        form = await form_or_404()
        if isinstance(form, Response):
            return form
        query = request.query_params
        values: dict[str, Any] = {f.key: query.get(f.from_query, "")
                                  for f in form.all_fields() if f.from_query is not None}
        page_url = _page_url(query.get(PAGE)) or _page_url(request.headers.get("referer")) \
            or str(request.url.replace(path=request.url.path.rstrip("/")))  # as it was asked
        token = issue(await adapter.signing_key(), clock())
        return _html(form_page(form, action=str(request.url.path), token=token,
                               page_url=page_url, values=values))

    @router.get("/embed.js")
    async def embed(request: Request) -> Response:
        form = await form_or_404()
        if isinstance(form, Response):
            return form
        url = str(request.url).split("/embed.js", 1)[0]
        return Response(embed_script(url, form.name), media_type="application/javascript",
                        headers={"Cache-Control": "max-age=300"})

    @router.post("/", response_class=HTMLResponse)
    async def submit(request: Request) -> Response:
        action = str(request.url.path)
        limit = settings.max_body_kb * 1024
        length = request.headers.get("content-length")
        # the cheap refusals first: a flood costs no database read
        if length and length.isdigit() and int(length) > limit:
            adapter.count("too_large")
            return _html(message_page(None, "Your submission is too large",
                                      f"Everything you send, files included, must stay under"
                                      f" {limit // 1024:,} KB. Please send smaller files.",
                                      back=action), 413, {"Connection": "close"})
        client = request.client.host if request.client else None
        wait = adapter.limiter.hit(address_key(client))
        if wait:
            adapter.count("rate_limited")
            return _html(message_page(None, "Too many submissions",
                                      "You have sent this form several times in a short while."
                                      f" Please try again in {retry_after(wait)} seconds.",
                                      back=action), 429, {"Retry-After": retry_after(wait)})
        form = await form_or_404()
        if isinstance(form, Response):
            return form
        try:
            posted, files = await _read(request)
        except Exception as exc:  # a body we cannot read: say so, count it
            if getattr(exc, "status_code", None) == 413:
                raise  # the front door's own limit passed mid-stream: its 413 stands
            adapter.count("unreadable")
            return _html(message_page(form, "We could not read your submission",
                                      "Please go back and send the form again.", back=action),
                         400)
        first = {k: v[0] for k, v in posted.items() if v}
        if first.get(HONEYPOT, "").strip():
            adapter.count("honeypot")
            return _html(message_page(form, "Your submission was not sent",
                                      "It looks like it was filled in automatically. If you are"
                                      " a person, please open the form again and send it.",
                                      back=action), 422)
        key = await adapter.signing_key()
        token = verify(key, first.get(TOKEN, ""))
        page_url = _page_url(first.get(PAGE))
        checked = check(form, posted, files)
        now = clock()

        def again(notice: str, token_text: str) -> Response:
            return _html(form_page(form, action=action, token=token_text, page_url=page_url,
                                   values=checked.values, errors=checked.errors, notice=notice),
                         422)

        if token is None or now - token.issued_at > MAX_AGE:
            adapter.count("bad_token")
            return again("This page was open too long or did not come from us. Please check"
                         " your answers and send the form again.", issue(key, now))
        if now - token.issued_at < settings.min_fill_seconds:
            adapter.count("too_fast")
            return again("That was quicker than a person can fill in this form. Please check"
                         " your answers and send it again.",
                         issue(key, token.issued_at, token.nonce))
        if not checked.ok:
            adapter.count("invalid")
            return again("", issue(key, token.issued_at, token.nonce))
        msg = build_message(form, checked, channel_id=adapter.host.channel_id,
                            key=f"form:{token.nonce}", page_url=page_url or None,
                            received_at=datetime.fromtimestamp(now, UTC))
        try:
            result = await adapter.host.ingest(msg)
        except Exception:  # the visitor keeps what they typed and may resend
            adapter.host.log.exception("form %s: a submission could not be saved", form.slug)
            adapter.count("failed")
            page = again("We could not save your message just now. Please send it again in a"
                         " moment.", issue(key, token.issued_at, token.nonce))
            page.status_code = 503
            return page
        adapter.count("duplicate" if result.duplicate else "accepted")
        if form.redirect:
            return RedirectResponse(form.redirect, status_code=303)
        return _html(message_page(form, "Thank you", form.thank_you))

    return router

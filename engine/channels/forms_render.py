"""The hosted form's HTML: server-rendered, accessible, styled by the form's accent colour.

Works without JavaScript (a plain ``<form method="post">``); every label is tied to its input
(``for``/``id``; radio and checkbox groups in a ``<fieldset>`` with a ``<legend>``); help and
errors are linked with ``aria-describedby``, an error sits right under its input and the
input says ``aria-invalid``; what was typed is kept when the form comes back with errors
(files excepted: browsers never pre-fill a file input). Every value that reaches the page —
labels, answers, the form's own texts — goes through :func:`html.escape`.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from engine.channels.forms_guard import HONEYPOT, PAGE, TOKEN
from engine.channels.forms_submit import Answer
from engine.form_defs import FormDef, FormField

_CSS = """
:root{--accent:%(accent)s}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;
background:#f6f8fa}
main{max-width:40rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;
border-top:4px solid var(--accent);border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{margin:.2rem 0 1rem;font-size:1.5rem}
.tt-field{margin:0 0 1.1rem;border:0;padding:0}
label,legend{display:block;font-weight:600;margin-bottom:.3rem}
.tt-choice label{display:inline;font-weight:400;margin-left:.3rem}
.tt-choice{margin:.2rem 0}
input,select,textarea{width:100%%;padding:.55rem .65rem;font:inherit;border:1px solid #8c959f;
border-radius:4px;background:#fff}
input[type=radio],input[type=checkbox]{width:auto}
textarea{min-height:8rem}
input:focus,select:focus,textarea:focus,button:focus{outline:3px solid var(--accent);
outline-offset:1px}
.tt-help{margin:.25rem 0 0;color:#57606a;font-size:.9rem}
.tt-error{margin:.25rem 0 0;color:#b3261e;font-weight:600;font-size:.95rem}
.tt-invalid input,.tt-invalid select,.tt-invalid textarea{border-color:#b3261e}
.tt-notice{padding:.75rem 1rem;border-radius:4px;background:#fff4e5;border-left:4px solid
#b35900;margin-bottom:1rem}
.tt-req{color:#b3261e}
button{background:var(--accent);color:#fff;border:0;border-radius:4px;padding:.65rem 1.4rem;
font:inherit;font-weight:600;cursor:pointer}
.tt-hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
"""

_INPUT_TYPES = {"text": "text", "email": "email", "phone": "tel", "number": "text",
                "date": "date"}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, accent: str, body: str) -> str:
    """A whole page around ``body`` (already escaped HTML)."""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS % {'accent': _e(accent)}}</style></head>"
            f"<body><main>{body}</main></body></html>")


def _described(key: str, f: FormField, error: str | None) -> str:
    ids = ([f"f-{key}-help"] if f.help else []) + ([f"f-{key}-err"] if error else [])
    out = f' aria-describedby="{" ".join(ids)}"' if ids else ""
    if error:
        out += ' aria-invalid="true"'
    if f.required:
        out += ' required aria-required="true"'
    return out


def _after(key: str, f: FormField, error: str | None) -> str:
    out = f'<p class="tt-help" id="f-{key}-help">{_e(f.help)}</p>' if f.help else ""
    if error:
        out += f'<p class="tt-error" id="f-{key}-err" role="alert">{_e(error)}</p>'
    return out


def _label(f: FormField, tag: str = "label", for_id: str | None = None) -> str:
    req = ' <span class="tt-req" aria-hidden="true">*</span>' if f.required else ""
    attr = f' for="{for_id}"' if for_id else ""
    return f"<{tag}{attr}>{_e(f.label)}{req}</{tag}>"


def field_html(f: FormField, value: Answer | None, error: str | None) -> str:
    """One field: label, input (with what was typed), help, error."""
    key = f.key
    fid = f"f-{key}"
    cls = "tt-field tt-invalid" if error else "tt-field"
    aria = _described(key, f, error)
    text = value if isinstance(value, str) else ""
    if f.type == "hidden":
        return f'<input type="hidden" name="{_e(key)}" value="{_e(text)}">' \
            if f.from_query is not None else ""
    if f.type in ("radio", "checkboxes"):
        chosen = set(value) if isinstance(value, list) else {text}
        kind = "radio" if f.type == "radio" else "checkbox"
        items = "".join(
            f'<div class="tt-choice"><input type="{kind}" id="{fid}-{i}" name="{_e(key)}"'
            f' value="{_e(opt)}"{" checked" if opt in chosen else ""}'
            f'{" required" if f.required and kind == "radio" else ""}>'
            f'<label for="{fid}-{i}">{_e(opt)}</label></div>'
            for i, opt in enumerate(f.options))
        described = aria.replace(' required aria-required="true"', "")
        return (f'<fieldset class="{cls}"{described}>{_label(f, "legend")}{items}'
                f"{_after(key, f, error)}</fieldset>")
    if f.type == "textarea":
        control = f'<textarea id="{fid}" name="{_e(key)}"{aria}>{_e(text)}</textarea>'
    elif f.type == "select":
        opts = '<option value="">Choose…</option>' + "".join(
            f'<option value="{_e(o)}"{" selected" if o == text else ""}>{_e(o)}</option>'
            for o in f.options)
        control = f'<select id="{fid}" name="{_e(key)}"{aria}>{opts}</select>'
    elif f.type == "file":
        control = f'<input type="file" id="{fid}" name="{_e(key)}"{aria}>'
    else:
        kind = _INPUT_TYPES.get(f.type, "text")
        extra = ' inputmode="decimal"' if f.type == "number" else ""
        auto = {"email": ' autocomplete="email"', "phone": ' autocomplete="tel"'}.get(f.type, "")
        control = (f'<input type="{kind}" id="{fid}" name="{_e(key)}" value="{_e(text)}"'
                   f"{extra}{auto}{aria}>")
    return f'<div class="{cls}">{_label(f, for_id=fid)}{control}{_after(key, f, error)}</div>'


def form_page(form: FormDef, *, action: str, token: str, page_url: str,
              values: Mapping[str, Answer] | None = None,
              errors: Mapping[str, str] | None = None, notice: str = "") -> str:
    """The form (again, with ``values``, ``errors`` and a ``notice`` when it comes back)."""
    values = values or {}
    errors = errors or {}
    parts = [f"<h1>{_e(form.name)}</h1>"]
    if form.intro:
        parts.append(f"<p>{_e(form.intro)}</p>")
    if notice:
        parts.append(f'<div class="tt-notice" role="alert">{_e(notice)}</div>')
    elif errors:
        parts.append(f'<div class="tt-notice" role="alert">Please correct the '
                     f'{"field" if len(errors) == 1 else f"{len(errors)} fields"} marked'
                     " below.</div>")
    has_file = any(f.type == "file" for f in form.all_fields())
    enctype = "multipart/form-data" if has_file else "application/x-www-form-urlencoded"
    parts.append(f'<form method="post" action="{_e(action)}" enctype="{enctype}">'
                 f'<input type="hidden" name="{TOKEN}" value="{_e(token)}">'
                 f'<input type="hidden" name="{PAGE}" value="{_e(page_url)}">'
                 f'<div class="tt-hp" aria-hidden="true"><label for="{HONEYPOT}">Leave this'
                 f' empty</label><input type="text" id="{HONEYPOT}" name="{HONEYPOT}"'
                 ' tabindex="-1" autocomplete="off"></div>')
    for f in form.all_fields():
        parts.append(field_html(f, values.get(f.key), errors.get(f.key)))
    parts.append(f'<button type="submit">{_e(form.submit_label)}</button></form>')
    return page(form.name, form.accent, "".join(parts))


def message_page(form: FormDef | None, heading: str, text: str, *, back: str | None = None
                 ) -> str:
    """A page with a heading and a paragraph: the thank-you, or why a submission was refused."""
    link = f'<p><a href="{_e(back)}">Back to the form</a></p>' if back else ""
    return page(heading, form.accent if form else "#2f6feb",
                f"<h1>{_e(heading)}</h1><p>{_e(text)}</p>{link}")


def embed_script(form_url: str, title: str) -> str:
    """``embed.js``: puts the form in an ``<iframe>`` where the script tag is, passing the
    page's address and query string (for hidden fields that read it) along."""
    import json

    return (
        "(function(){var s=document.currentScript;var f=document.createElement('iframe');"
        f"var u={json.dumps(form_url)};var q=new URLSearchParams(location.search);"
        f"q.set('{PAGE}',location.href);f.src=u+'?'+q.toString();"
        f"f.title={json.dumps(title)};"
        "f.style.cssText='width:100%;min-height:720px;border:0';f.loading='lazy';"
        "s.parentNode.insertBefore(f,s.nextSibling);})();\n")

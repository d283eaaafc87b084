"""``ticketty forms add|list|show|edit|remove`` and ``ticketty contacts show EMAIL``.

Forms are defined in TOML (``docs/forms.md``) and kept in the store; a forms channel
(``ticketty channels add forms --name NAME --set form=SLUG``) serves one at ``/f/<slug>``.
``contacts show`` prints a contact with its timeline: tickets, form submissions with every
field (hidden ones too) and consent records.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.channels.forms import links
from engine.channels.registry import FORMS
from engine.cli.common import CLIError, Context, clean, emit, table
from engine.cli.errors import FieldError
from engine.form_defs import FormDef, FormError, load_toml
from engine.models import Channel


def _load(path: str) -> FormDef:
    try:
        return load_toml(path)
    except FormError as exc:
        raise CLIError(str(exc)) from None


async def _form(ctx: Context, slug: str) -> FormDef:
    form = await ctx.store.form(slug)
    if form is None:
        raise CLIError(f"no form with slug {slug!r} (see `ticketty forms list`)")
    return form


def form_json(form: FormDef, base_url: str) -> dict[str, Any]:
    """A form as ``forms show --json`` prints it: the definition, every field the page shows
    (the default ticket fields included) and its address and embed codes."""
    return {**form.model_dump(mode="json"),
            "all_fields": [f.model_dump(mode="json") for f in form.all_fields()],
            **links(form.slug, base_url, form.name)}


async def cmd_add(ctx: Context) -> int:
    ctx.require_admin("adding forms")
    form = await ctx.store.add_form(_load(ctx.args.from_file))
    emit(ctx, form_json(form, ctx.config.engine.public_base()),
         f"added form {form.slug!r}; serve it with `ticketty channels add forms --name NAME"
         f" --set form={form.slug} --set reply_channel=EMAIL_CHANNEL`")
    return 0


async def cmd_edit(ctx: Context) -> int:
    ctx.require_admin("editing forms")
    await _form(ctx, ctx.args.slug)
    form = await ctx.store.update_form(ctx.args.slug, _load(ctx.args.from_file))
    emit(ctx, form_json(form, ctx.config.engine.public_base()), f"updated form {form.slug!r}")
    return 0


async def cmd_remove(ctx: Context) -> int:
    ctx.require_admin("removing forms")
    await ctx.store.remove_form(ctx.args.slug)
    emit(ctx, {"removed": ctx.args.slug},
         f"removed form {ctx.args.slug!r}; its submissions stay on the contacts' timelines")
    return 0


async def cmd_list(ctx: Context) -> int:
    data = await ctx.store.forms()
    if ctx.json:
        emit(ctx, data)
        return 0
    print(table([[d["slug"], clean(d["name"]), str(d["fields"]), str(d["submissions"]),
                  ", ".join(clean(c) for c in d["channels"]) or "-"] for d in data],
                ["SLUG", "NAME", "FIELDS", "SUBMISSIONS", "CHANNELS"])
          if data else "no forms yet: `ticketty forms add --from form.toml`")
    return 0


async def _serving(ctx: Context, slug: str) -> list[dict[str, Any]]:
    """The channels serving form ``slug`` with what they took in and refused (their health)."""
    out = []
    for ch in await ctx.store.channels():
        if ch.kind == FORMS.kind and ch.settings.get("form") == slug:
            h = ch.health
            out.append({"name": ch.name, "enabled": ch.enabled,
                        "accepted": int(h.get("accepted") or 0),
                        "rejected": dict(h.get("rejected") or {}),
                        "rejected_total": int(h.get("rejected_total") or 0)})
    return out


async def cmd_show(ctx: Context) -> int:
    form = await _form(ctx, ctx.args.slug)
    data = form_json(form, ctx.config.engine.public_base())
    data["channels"] = await _serving(ctx, form.slug)
    if ctx.json:
        emit(ctx, data)
        return 0
    lines = [f"{'name':12} {clean(form.name)}", f"{'slug':12} {form.slug}",
             f"{'url':12} {clean(data['form_url'])}",
             f"{'after':12} " + (f"redirect to {clean(form.redirect)}" if form.redirect
                                 else f"thank you: {clean(form.thank_you)}"),
             f"{'accent':12} {form.accent}", "fields:"]
    rows = []
    for f in form.all_fields():
        detail = f.help
        if f.options:
            detail = "options: " + ", ".join(f.options)
        if f.type == "hidden":
            detail = f"from ?{f.from_query}" if f.from_query else f"value {f.value}"
        rows.append(["  " + f.key, f.type, clean(f.label), "yes" if f.required else "",
                     clean(detail)])
    lines.append(table(rows, ["  KEY", "TYPE", "LABEL", "REQUIRED", "DETAIL"]))
    lines += ["embed (script):", "  " + clean(data["embed_code"]),
              "embed (iframe):", "  " + clean(data["embed_iframe"])]
    for ch in data["channels"]:
        why = ", ".join(f"{k} {n}" for k, n in sorted(ch["rejected"].items()))
        lines.append(f"channel {clean(ch['name'])}: {ch['accepted']} accepted,"
                     f" {ch['rejected_total']} refused" + (f" ({why})" if why else ""))
    if not data["channels"]:
        lines.append("no channel serves it yet: `ticketty channels add forms --name NAME"
                     f" --set form={form.slug}`")
    print("\n".join(lines))
    return 0


async def cmd_contact_show(ctx: Context) -> int:
    data = await ctx.store.contact_timeline(ctx.args.email)
    if data is None:
        raise CLIError(f"no contact with email {ctx.args.email!r}")
    if ctx.json:
        emit(ctx, data)
        return 0
    lines = [f"{'name':8} {clean(data['name']) or '-'}",
             f"{'emails':8} {', '.join(data['emails'])}",
             f"{'owner':8} {data['owner'] or '-'}", "timeline:"]
    for item in data["timeline"]:
        at = (item["at"] or "")[:16].replace("T", " ")
        if item["type"] == "ticket":
            lines.append(f"  {at}  ticket #{item['ticket_id']} [{item['status']}]"
                         f" {clean(item['subject'])}")
        elif item["type"] == "form_submission":
            lines.append(f"  {at}  form {item['form']} → ticket #{item['ticket_id']}"
                         f" from {clean(item['page_url'] or '-')}")
            for f in item["fields"]:
                value = f["value"] if isinstance(f["value"], str) else ", ".join(f["value"])
                hidden = " (hidden)" if f["hidden"] else ""
                lines.append(f"      {clean(f['label'])}{hidden}: {clean(value)}")
        else:
            lines.append(f"  {at}  consent {item['kind']}: "
                         f"{'granted' if item['granted'] else 'withdrawn'}"
                         f" ({clean(item['channel'] or '-')})")
    if not data["timeline"]:
        lines.append("  (nothing yet)")
    print("\n".join(lines))
    return 0


async def check_references(ctx: Context, channel: Channel) -> None:
    """Refuse, naming the key, a channel whose settings name a form or a reply channel that
    does not exist (``channels add/edit``): a name is never silently dropped."""
    from engine.channels import Ability, entry

    slug = channel.settings.get("form")
    if slug and await ctx.store.form(str(slug)) is None:
        raise FieldError("form", f"no form with slug {slug!r} (see `ticketty forms list`)")
    if slug:
        other = next((c for c in await ctx.store.channels() if c.settings.get("form") == slug
                      and c.kind == channel.kind and c.id != channel.id), None)
        if other is not None:
            raise FieldError("form", f"form {slug!r} is served by channel {other.name!r}"
                             " already (one channel per form: its address is /f/<slug>)")
    named = channel.settings.get("reply_channel")
    if named:
        target = await ctx.store.channel(str(named))
        if target is None:
            raise FieldError("reply_channel", f"no channel named {named!r}")
        if not entry(target.kind).can(Ability.send):
            raise FieldError("reply_channel", f"{named!r} is a {target.kind} channel; it cannot"
                             " send replies")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("forms", help="web forms whose submissions become tickets")
    fs = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = fs.add_parser("add", parents=[common], help="add a form from a TOML file")
    a.add_argument("--from", dest="from_file", required=True, metavar="FILE",
                   help="the form's TOML definition (see docs/forms.md)")
    a.set_defaults(run=cmd_add)
    fs.add_parser("list", parents=[common], help="every form").set_defaults(run=cmd_list)
    s = fs.add_parser("show", parents=[common], help="a form's fields, URL and embed code")
    s.add_argument("slug", metavar="SLUG")
    s.set_defaults(run=cmd_show)
    e = fs.add_parser("edit", parents=[common], help="replace a form's definition")
    e.add_argument("slug", metavar="SLUG")
    e.add_argument("--from", dest="from_file", required=True, metavar="FILE",
                   help="the new TOML definition (same slug)")
    e.set_defaults(run=cmd_edit)
    r = fs.add_parser("remove", parents=[common], help="remove a form no channel uses")
    r.add_argument("slug", metavar="SLUG")
    r.set_defaults(run=cmd_remove)


def add_contact_show(contacts: argparse._SubParsersAction,
                     common: argparse.ArgumentParser) -> None:
    """``contacts show EMAIL``, added to the ``contacts`` command."""
    s = contacts.add_parser("show", parents=[common],
                            help="a contact with its timeline (tickets, form submissions,"
                            " consent records)")
    s.add_argument("email", metavar="EMAIL")
    s.set_defaults(run=cmd_contact_show)

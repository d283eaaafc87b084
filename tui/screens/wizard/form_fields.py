"""The form builder's fields list: a wizard step and the dialog that edits one field.

The list shows every declared field (label, key, type, required). Keys on the list (binding
ids ``wizard.field_*``): ``a`` add, ``e``/Enter edit, ``d`` delete, ``K`` move up, ``J`` move
down. The default ticket fields (subject, description) follow the declared ones unless a
field with that key replaces them; the list says so under it. A field is checked by the same
model the TOML loader uses (:class:`engine.form_defs.FormField`), its errors shown beside the
dialog's inputs.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from engine.form_defs import FIELD_TYPES, FormDef, FormError, FormField, error_line, parse_form
from tui.screens.wizard.base import WizardStep
from tui.text import line
from tui.widgets.settings_form import FieldSpec, SettingsForm

_SPECS = [
    FieldSpec("label", "Label", "text", "What the visitor reads next to the input."),
    FieldSpec("key", "Key", "text", "The answer's name: lower-case letters, digits and _."),
    FieldSpec("type", "Type", "choice", "", [(t, t) for t in FIELD_TYPES]),
    FieldSpec("required", "Required", "bool", "The form is refused without an answer."),
    FieldSpec("help", "Help", "text", "A line of help under the input."),
    FieldSpec("options", "Options", "text", "Select, radio, checkboxes: comma-separated."),
    FieldSpec("value", "Fixed value", "text", "Hidden fields: the value every submission has."),
    FieldSpec("from_query", "From query", "text",
              "Hidden fields: the query-string parameter of the page to read."),
]


def field_from_values(values: dict[str, Any]) -> FormField:
    """A field from the dialog's values (empty texts are left out); ValidationError if bad."""
    data: dict[str, Any] = {k: v for k, v in values.items()
                            if k in ("key", "label", "type", "required", "help")}
    data["key"] = str(data.get("key") or "").strip()
    options = [o.strip() for o in str(values.get("options") or "").split(",") if o.strip()]
    if options:
        data["options"] = options
    for key in ("value", "from_query"):
        if str(values.get(key) or "").strip():
            data[key] = str(values[key]).strip()
    return FormField.model_validate(data)


class FieldScreen(ModalScreen[dict[str, Any] | None]):
    """Edit one field; dismisses with its JSON form, or None when cancelled."""

    DEFAULT_CSS = """
    FieldScreen { align: center middle; }
    FieldScreen > Vertical { width: 90; height: auto; max-height: 90%; border: round $primary;
        background: $surface; padding: 1 2; }
    FieldScreen #field-buttons { height: 3; align-horizontal: right; }
    FieldScreen #field-message { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="wizard.field_cancel"),
                Binding("ctrl+s", "save", "Save", id="wizard.field_save")]

    def __init__(self, field: dict[str, Any] | None, taken: set[str]) -> None:
        super().__init__()
        self.field = field or {"type": "text"}
        self.taken = taken

    def compose(self) -> ComposeResult:
        values = {**self.field, "options": ", ".join(self.field.get("options") or [])}
        with Vertical():
            yield Static(Text("Edit field" if self.field.get("key") else "Add a field",
                              style="bold"))
            yield SettingsForm(_SPECS, values, id="field-form")
            yield Static("", id="field-message")
            with Horizontal(id="field-buttons"):
                yield Button("Cancel", id="field-cancel")
                yield Button("Save", id="field-save", variant="primary")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        form = self.query_one(SettingsForm)
        values = form.values()
        try:
            field = field_from_values(values)
        except ValidationError as exc:
            text = error_line(exc)
            key, _, message = text.partition(": ")
            if not form.show_errors({key: message}) and form.has(key.split(".")[0]):
                form.show_errors({key.split(".")[0]: message})
            self.query_one("#field-message", Static).update(Text(text))
            return
        if field.key in self.taken:
            form.show_errors({"key": f"{field.key!r} is used by another field"})
            return
        self.dismiss(field.model_dump(mode="json", exclude_defaults=True) | {"key": field.key})

    @on(Button.Pressed, "#field-save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#field-cancel")
    def _cancel(self) -> None:
        self.action_cancel()


def field_row(f: dict[str, Any]) -> Text:
    text = Text()
    text.append(f"{line(f.get('label') or f['key']):<28}", "bold")
    text.append(f" {line(f['key']):<18} {f.get('type', 'text'):<11}")
    if f.get("required"):
        text.append(" required", "italic")
    if f.get("from_query"):
        text.append(f" ?{line(f['from_query'])}", "dim")
    elif f.get("value") is not None:
        text.append(f" = {line(f['value'])}", "dim")
    return text


class FieldsStep(WizardStep):
    """The fields list of the form being built (``wizard.extra["draft"]``)."""

    TITLE = "Fields"
    DEFAULT_CSS = """
    FieldsStep #fields-list { height: auto; max-height: 20; border: round $primary; }
    """
    BINDINGS = [
        Binding("a", "add", "Add", id="wizard.field_add"),
        Binding("e", "edit", "Edit", id="wizard.field_edit"),
        Binding("d", "delete", "Delete", id="wizard.field_delete"),
        Binding("K", "move(-1)", "Move up", id="wizard.field_up"),
        Binding("J", "move(1)", "Move down", id="wizard.field_down"),
    ]

    @property
    def fields(self) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = self.wizard.extra["draft"].setdefault("fields", [])
        return fields

    def body(self) -> ComposeResult:
        yield Static(Text("a add · e or Enter edit · d delete · K/J move up/down. A form needs"
                          " an email field: it is the contact."), classes="wizard-note")
        yield OptionList(id="fields-list")
        yield Static("", id="fields-after", classes="wizard-note")

    def on_mount(self) -> None:
        self.refresh_list()

    def focus_first_field(self) -> None:
        self.query_one("#fields-list", OptionList).focus()

    def refresh_list(self, highlight: int | None = None) -> None:
        listing = self.query_one("#fields-list", OptionList)
        listing.clear_options()
        listing.add_options([Option(field_row(f), id=f"field-{i}")
                             for i, f in enumerate(self.fields)])
        if self.fields:
            listing.highlighted = min(highlight or 0, len(self.fields) - 1)
        keys = {f["key"] for f in self.fields}
        added = [k for k in ("subject", "description") if k not in keys]
        self.query_one("#fields-after", Static).update(Text(
            "Also on the form: " + ", ".join(added) + " (ticket fields; add a field with that"
            " key to replace one)." if added else ""))

    @property
    def current(self) -> int | None:
        return self.query_one("#fields-list", OptionList).highlighted

    def action_add(self) -> None:
        self._edit(None)

    def action_edit(self) -> None:
        if self.current is not None:
            self._edit(self.current)

    @on(OptionList.OptionSelected)
    def _chosen(self) -> None:
        self.action_edit()

    def _edit(self, index: int | None) -> None:
        taken = {f["key"] for i, f in enumerate(self.fields) if i != index}

        def done(result: dict[str, Any] | None) -> None:
            if result is None:
                return
            if index is None:
                self.fields.append(result)
                self.refresh_list(len(self.fields) - 1)
            else:
                self.fields[index] = result
                self.refresh_list(index)
            self.say("")

        self.app.push_screen(FieldScreen(self.fields[index] if index is not None else None,
                                         taken), done)

    def action_delete(self) -> None:
        index = self.current
        if index is not None and self.fields:
            del self.fields[index]
            self.refresh_list(index)

    def action_move(self, step: int) -> None:
        index = self.current
        if index is None:
            return
        to = index + step
        if 0 <= to < len(self.fields):
            self.fields[index], self.fields[to] = self.fields[to], self.fields[index]
            self.refresh_list(to)

    async def check(self) -> bool:
        try:
            parse_form(self.wizard.extra["draft"])
        except FormError as exc:
            self.say(str(exc))
            return False
        return True


def draft_form(draft: dict[str, Any]) -> FormDef:
    """The draft as a definition (raises :class:`FormError` naming the field)."""
    return parse_form(draft)

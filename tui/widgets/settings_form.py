"""A form rendered from a settings declaration: one widget per field, help below, error beside.

The declaration is a pydantic model (``EmailSettings``, the agent form, …) or, for keys that
are not a model's fields (the channel-wide ``CHANNEL_KEYS``), a list of :class:`FieldSpec`.
:func:`specs_from_model` turns model fields into specs by type:

| field type | widget |
|---|---|
| ``bool`` | ``Switch`` |
| ``Literal[...]`` / enum / ``choices`` given | ``Select`` (the declaration's words per value) |
| ``int`` | ``Input(type="integer")`` |
| a secret (typed ``engine.vault.Secret``, a ``SecretStr``: :func:`engine.vault.secret_fields`) | ``Input(password=True)`` |
| ``str`` listed as multiline | ``TextArea`` |
| other ``str`` | ``Input`` |

The field's ``description`` is the help line; :meth:`SettingsForm.show_errors` puts a message
next to the widget of the key it names (``SettingError.key``). A marked field is re-checked as
it is edited (with the form's ``check``, when given): its message goes once it is fixed, and
at once when there is nothing to re-check it with (a failed log-in: the edit is the fix). Values come back typed where the
widget knows the type (bool, choice); integers come back as ``int`` when they parse and as the
raw text otherwise, so pydantic's error names the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch, TextArea

from engine.channels.setup import model_keys


@dataclass
class FieldSpec:
    """One field of a form. ``kind``: text|secret|int|bool|choice|multiline."""

    key: str
    label: str
    kind: str = "text"
    help: str = ""
    choices: list[tuple[str, Any]] = field(default_factory=list)  # (label, value)
    placeholder: str = ""


def humanize(key: str) -> str:
    words = key.replace("_", " ").split()
    fixes = {"imap": "IMAP", "smtp": "SMTP", "oauth": "OAuth", "url": "URL", "id": "ID"}
    words = [fixes.get(w, w) for w in words]
    return " ".join(words).capitalize() if words and words[0] not in fixes.values() \
        else " ".join(words)


def specs_from_model(model: type[BaseModel], fields: Iterable[str] | None = None, *,
                     labels: dict[str, str] | None = None, multiline: Iterable[str] = (),
                     choices: dict[str, list[tuple[str, Any]]] | None = None,
                     helps: dict[str, str] | None = None) -> list[FieldSpec]:
    """Specs for ``fields`` (default: all) of ``model``, typed by annotation; a choice shows
    the words the declaration gives its values (:func:`engine.channels.setup.model_keys`)."""
    labels, choices, helps = labels or {}, choices or {}, helps or {}
    multiline = set(multiline)
    infos = model_keys(model)
    out: list[FieldSpec] = []
    for key in fields or model.model_fields:
        info = infos[key]
        kind, opts = info.kind, [(words or "(none)", value) for value, words in info.choices]
        if key in choices:
            kind, opts = "choice", choices[key]
        elif kind == "text" and key in multiline:
            kind = "multiline"
        out.append(FieldSpec(key, labels.get(key, humanize(key)), kind,
                             helps.get(key, info.description), opts))
    return out


def defaults_of(model: type[BaseModel]) -> dict[str, Any]:
    """Each field's default (fields without one are left out)."""
    out = {}
    for key, info in model.model_fields.items():
        if not info.is_required():
            out[key] = info.get_default(call_default_factory=True)
    return out


def model_errors(model: type[BaseModel], values: dict[str, Any],
                 keys: Iterable[str]) -> dict[str, str]:
    """Validation errors of ``values`` that concern ``keys`` (whole-model errors are matched to
    the first of ``keys`` their message names)."""
    keys = list(keys)
    try:
        model.model_validate(values)
    except ValidationError as exc:
        out: dict[str, str] = {}
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if loc in keys:
                out.setdefault(loc, msg)
            elif not loc:
                named = next((k for k in keys if k in msg), None)
                if named:
                    out.setdefault(named, msg)
        return out
    return {}


class SettingsForm(Vertical):
    """Fields from a declaration; ``values()`` reads them, ``show_errors()`` marks them."""

    DEFAULT_CSS = """
    SettingsForm { height: auto; }
    SettingsForm .sf-row { height: auto; margin: 0 0 1 0; }
    SettingsForm .sf-line { height: auto; }
    SettingsForm .sf-label { width: 24; text-style: bold; padding: 0 1 0 0; }
    SettingsForm .sf-line Input { width: 46; height: 1; border: none; padding: 0 1;
        background: $boost; }
    SettingsForm .sf-line Input:focus { background: $primary 25%; }
    SettingsForm .sf-line Select { width: 46; height: 1; }
    SettingsForm .sf-line Select > SelectCurrent { border: none; height: 1; padding: 0 1;
        background: $boost; }
    SettingsForm .sf-line Select:focus > SelectCurrent { background: $primary 25%; }
    SettingsForm .sf-line Select > SelectOverlay { width: 46; }
    SettingsForm .sf-line Switch { width: auto; height: 1; border: none; padding: 0; }
    SettingsForm .sf-line TextArea { width: 70; height: 5; border: none; background: $boost; }
    SettingsForm .sf-error { width: 1fr; color: $error; padding: 0 0 0 2; height: auto; }
    SettingsForm .sf-help { color: $text-muted; padding: 0 0 0 24; }
    SettingsForm .sf-row.-invalid .sf-label { color: $error; }
    """

    class Changed(Message):
        """A field changed (for previews and dependent fields)."""

        def __init__(self, form: SettingsForm, key: str, value: Any) -> None:
            super().__init__()
            self.form = form
            self.key = key
            self.value = value

        @property
        def control(self) -> SettingsForm:
            return self.form

    def __init__(self, specs: Sequence[FieldSpec], values: dict[str, Any] | None = None, *,
                 id: str | None = None, classes: str | None = None,
                 check: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.specs = {s.key: s for s in specs}
        self.initial = dict(values or {})
        #: ``values() → {key: error}``: re-checks a marked field while it is edited
        self.check = check

    # ----------------------------------------------------------------- compose
    def compose(self) -> ComposeResult:
        for spec in self.specs.values():
            with Vertical(classes="sf-row", id=f"row-{spec.key}"):
                with Horizontal(classes="sf-line"):
                    yield Label(Text(spec.label), classes="sf-label")
                    yield self._widget(spec, self.initial.get(spec.key))
                    yield Static("", classes="sf-error", id=f"error-{spec.key}")
                if spec.help:
                    yield Static(Text(spec.help), classes="sf-help")

    def _widget(self, spec: FieldSpec, value: Any) -> Widget:
        wid = f"field-{spec.key}"
        if spec.kind == "bool":
            return Switch(bool(value), id=wid)
        if spec.kind == "choice":
            values = [v for _, v in spec.choices]
            initial = value if value in values else (values[0] if values else Select.NULL)
            return Select([(Text(label), v) for label, v in spec.choices], value=initial,
                          allow_blank=not values, id=wid)
        if spec.kind == "multiline":
            return TextArea(str(value or ""), id=wid, soft_wrap=True, show_line_numbers=False)
        text = "" if value is None else str(value)
        return Input(text, id=wid, password=spec.kind == "secret",
                     type="integer" if spec.kind == "int" else "text",
                     placeholder=spec.placeholder)

    # ------------------------------------------------------------------ values
    def widget(self, key: str) -> Widget:
        return self.query_one(f"#field-{key}")

    def has(self, key: str) -> bool:
        return key in self.specs

    def value(self, key: str) -> Any:
        spec, w = self.specs[key], self.widget(key)
        if isinstance(w, Switch):
            return w.value
        if isinstance(w, Select):
            return None if w.value is Select.NULL else w.value
        if isinstance(w, TextArea):
            return w.text
        assert isinstance(w, Input)
        if spec.kind == "int":
            raw = w.value.strip()
            try:
                return int(raw)
            except ValueError:
                return raw
        return w.value

    def values(self) -> dict[str, Any]:
        return {key: self.value(key) for key in self.specs}

    def set_value(self, key: str, value: Any) -> None:
        w = self.widget(key)
        if isinstance(w, Switch):
            w.value = bool(value)
        elif isinstance(w, Select):
            w.value = value
        elif isinstance(w, TextArea):
            w.text = str(value or "")
        elif isinstance(w, Input):
            w.value = "" if value is None else str(value)

    def set_choices(self, key: str, choices: list[tuple[str, Any]], value: Any = None) -> None:
        """Replace a choice field's options (e.g. the statuses of the chosen pipeline)."""
        self.specs[key].choices = choices
        w = self.widget(key)
        assert isinstance(w, Select)
        values = [v for _, v in choices]
        w.set_options([(Text(label), v) for label, v in choices])
        if values:
            w.value = value if value in values else values[0]

    def show(self, key: str, visible: bool) -> None:
        self.query_one(f"#row-{key}").display = visible

    # ------------------------------------------------------------------ errors
    def _mark(self, key: str, message: str) -> None:
        self.query_one(f"#error-{key}", Static).update(Text(message))
        self.query_one(f"#row-{key}").set_class(bool(message), "-invalid")

    def show_errors(self, errors: dict[str, str]) -> bool:
        """Mark the fields named in ``errors`` (others are cleared); True if any was ours."""
        mine = False
        for key in self.specs:
            message = errors.get(key, "")
            self._mark(key, message)
            mine = mine or bool(message)
        if mine:
            first = next(k for k in self.specs if k in errors)
            self.widget(first).focus()
        return mine

    def clear_errors(self) -> None:
        self.show_errors({})

    def clear_error(self, key: str) -> None:
        """Unmark one field (focus stays where it is)."""
        if key in self.specs:
            self._mark(key, "")

    def errors(self) -> dict[str, str]:
        out = {}
        for key in self.specs:
            text = str(self.query_one(f"#error-{key}", Static).content)
            if text:
                out[key] = text
        return out

    def recheck(self, key: str) -> None:
        """After an edit: keep ``key``'s message only while the check still finds it wrong."""
        if key not in self.errors():
            return
        still = ""
        if self.check is not None:
            try:
                still = self.check(self.values()).get(key, "")
            except Exception:  # a check that cannot run keeps nothing stale
                still = ""
        self._mark(key, still)

    # ------------------------------------------------------------------ events
    def _changed(self, widget: Widget | None, value: Any) -> None:
        if widget is None or not (widget.id or "").startswith("field-"):
            return
        key = (widget.id or "").removeprefix("field-")
        if key in self.specs:
            self.recheck(key)
            self.post_message(self.Changed(self, key, self.value(key)))

    @on(Input.Changed)
    def _input(self, event: Input.Changed) -> None:
        event.stop()
        self._changed(event.input, event.value)

    @on(Select.Changed)
    def _select(self, event: Select.Changed) -> None:
        event.stop()
        self._changed(event.select, event.value)

    @on(Switch.Changed)
    def _switch(self, event: Switch.Changed) -> None:
        event.stop()
        self._changed(event.switch, event.value)

    @on(TextArea.Changed)
    def _text(self, event: TextArea.Changed) -> None:
        event.stop()
        self._changed(event.text_area, event.text_area.text)

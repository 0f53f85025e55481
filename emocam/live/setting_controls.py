"""The window's controls for `Settings` fields, made from the schema (`emocam.settings`).

A field's `Meta` decides its control: a bool is a checkbox, a field with choices a combo box, a float
between 0 and 1 without a unit a percent slider, another number a spin box over its range with its unit,
the process size a combo of `PROCESS_SIZES`, any other text a line edit. Label, tooltip and panel (group) come from the same `Meta`.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QSlider, QSpinBox, QVBoxLayout, QWidget)

from emocam.settings import GUI, PROCESS_SIZES, Settings, fields_for, meta


class FieldControl:
    """One field's widget: `value()` reads it, `show(value)` sets it without reporting a change."""

    def __init__(self, name: str, widget: QWidget, get: Callable[[], Any], put: Callable[[Any], None]) -> None:
        self.name, self.widget, self.value, self._put = name, widget, get, put
        widget.setToolTip(meta(name).help)

    def show(self, value: Any) -> None:
        self.widget.blockSignals(True)
        for child in self.widget.findChildren(QWidget):
            child.blockSignals(True)
        try:
            self._put(value)
        finally:
            for child in self.widget.findChildren(QWidget):
                child.blockSignals(False)
            self.widget.blockSignals(False)


Choices = tuple | Callable[[], list]  # fixed, or listed afresh each time the list opens (packs made meanwhile)


def make_control(name: str, value: Any, report: Callable[[str, Any], None], choices: Choices = ()) -> FieldControl:
    """The control for field `name` showing `value`; each user change calls `report(name, new_value)`."""
    m = meta(name)
    if isinstance(value, bool):
        box = QCheckBox(m.label)
        box.setChecked(value)
        box.toggled.connect(lambda on: report(name, bool(on)))
        return FieldControl(name, box, box.isChecked, box.setChecked)
    if name == "process_size":
        return _combo(name, [(f"{s} px" if s else "full size", s) for s in PROCESS_SIZES], value, report)
    if m.choices or choices:
        items = list((choices() if callable(choices) else choices) or m.choices)
        if value not in items:
            items.append(value)  # e.g. a pack given as a folder path
        return _combo(name, [(str(c), c) for c in items], value, report, choices if callable(choices) else None)
    if isinstance(value, float) and (m.low, m.high) == (0.0, 1.0) and not m.unit:
        return _percent(name, value, report)
    if isinstance(value, (int, float)):
        whole = isinstance(value, int)
        spin = QSpinBox() if whole else QDoubleSpinBox()
        if not whole:
            spin.setDecimals(2 if m.high is not None and m.high <= 1 else 1)
            spin.setSingleStep(0.05 if m.high is not None and m.high <= 1 else 0.1)
        spin.setRange(m.low if m.low is not None else 0, m.high if m.high is not None else 999999)
        spin.setSuffix(f" {m.unit}" if m.unit else "")
        spin.setValue(value)
        spin.valueChanged.connect(lambda v: report(name, int(v) if whole else float(v)))
        return FieldControl(name, spin, spin.value, spin.setValue)
    line = QLineEdit(str(value))  # a free-form text setting (none in the window yet)
    line.editingFinished.connect(lambda: report(name, line.text()))
    return FieldControl(name, line, line.text, lambda v: line.setText(str(v)))


class _ListingCombo(QComboBox):
    """A combo box that lists its source again as it opens, adding what appeared since (a pack made meanwhile)."""

    def __init__(self, source: Callable[[], list]) -> None:
        super().__init__()
        self._source = source

    def showPopup(self) -> None:
        known = {self.itemData(i) for i in range(self.count())}
        for item in self._source():
            if item not in known:
                self.addItem(str(item), item)  # adding does not change the current item: no signal to the app
        super().showPopup()


def _combo(name: str, items: list[tuple[str, Any]], value: Any, report: Callable[[str, Any], None],
           source: Callable[[], list] | None = None) -> FieldControl:
    combo = _ListingCombo(source) if source else QComboBox()
    for text, data in items:
        combo.addItem(text, data)
    combo.setCurrentIndex(max(0, combo.findData(value)))
    combo.currentIndexChanged.connect(lambda _: report(name, combo.currentData()))

    def put(v: Any) -> None:
        if combo.findData(v) < 0:
            combo.addItem(str(v), v)
        combo.setCurrentIndex(combo.findData(v))

    return FieldControl(name, combo, combo.currentData, put)


def _percent(name: str, value: float, report: Callable[[str, Any], None]) -> FieldControl:
    row = QWidget()
    slider = QSlider(Qt.Orientation.Horizontal, row)
    slider.setRange(0, 100)
    label = QLabel(row)
    label.setMinimumWidth(36)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(slider, 1)
    layout.addWidget(label)

    def put(v: float) -> None:
        slider.setValue(round(v * 100))
        label.setText(f"{slider.value()}%")

    def moved(v: int) -> None:
        label.setText(f"{v}%")
        report(name, v / 100)

    put(value)
    slider.valueChanged.connect(moved)
    control = FieldControl(name, row, lambda: slider.value() / 100, put)
    control.slider = slider  # type: ignore[attr-defined]  (tests and keys move it)
    return control


class SettingsGroup(QGroupBox):
    """A panel of every window field whose `Meta.group` is `group`: values in a form, switches in a grid."""

    changed = Signal(str, object)

    def __init__(self, group: str, settings: Settings, choices: dict[str, Choices] | None = None,
                 skip: tuple[str, ...] = ("styles",), parent: QWidget | None = None) -> None:
        super().__init__(group, parent)
        self.controls: dict[str, FieldControl] = {}
        self.form = QFormLayout()
        switches = QGridLayout()
        names = [f.name for f in fields_for(GUI) if meta(f.name).group == group and f.name not in skip]
        for name in names:
            control = make_control(name, getattr(settings, name), self.changed.emit, (choices or {}).get(name, ()))
            self.controls[name] = control
            if isinstance(control.widget, QCheckBox):
                n = switches.count()
                switches.addWidget(control.widget, n // 2, n % 2)
            else:
                self.form.addRow(meta(name).label, control.widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self.form)
        layout.addLayout(switches)

    def show_settings(self, settings: Settings) -> None:
        """Show `settings` in every control without reporting changes (e.g. a setting the pipeline refused)."""
        for name, control in self.controls.items():
            if control.value() != getattr(settings, name):
                control.show(getattr(settings, name))

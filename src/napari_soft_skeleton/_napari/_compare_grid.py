"""Side by side: A, B and C each in its own titled view of napari's grid.

napari's grid mode puts groups of ``stride`` layers into linked views
(zoom, rotation and slice shared).  Each view here holds one skeleton and,
paired with it by a stride of 2, an empty Points layer whose name overlay
(:attr:`napari.layers.Layer.name_overlay`, a text box in the view's corner)
is the view's title — "A: <layer name>" in the skeleton's colour
(:func:`view_titles`: the words all the names share left out).  The views are spaced apart by :data:`GRID_SPACING`.

:class:`SideBySide` remembers what it changes — the layers' visibility and
order, the selection and the grid settings — and :meth:`SideBySide.end`
puts it all back and removes the title layers.
"""

from __future__ import annotations

from collections.abc import Sequence

from napari.layers import Points

from ._common import METADATA_KEY
from ._compare_layers import TITLE_KIND

#: Gap between the views, as a fraction of a view's size (napari's ``grid.spacing``).
GRID_SPACING = 0.03
#: Font size of the view titles (points).
TITLE_FONT_SIZE = 10


def view_titles(roles: Sequence[str], names: Sequence[str]) -> list[str]:
    """Titles such as 'A: …lee skeleton', 'B: …soft skeleton (k=10)', one per view.

    The words that all the layer names start with (e.g. the image they were
    made from, "vessel_256 mask") are left out, so that each title fits its
    narrow view and says what tells the views apart; names that share nothing
    are shown whole.
    """
    words = [name.split(" ") for name in names]
    common = 0
    while len(names) > 1 and all(len(w) > common + 1 for w in words) and len({w[common] for w in words}) == 1:
        common += 1
    shared = len(" ".join(words[0][:common])) if common else 0
    return [f"{role}: {name if shared < 6 else '…' + name[shared + 1:]}" for role, name in zip(roles, names)]


class SideBySide:
    """Show ``(layer, title, colour)`` views in napari's grid; :meth:`end` restores the viewer."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.titles: list = []  # the title layers, one per view, in view order
        self._state: dict | None = None

    @property
    def active(self) -> bool:
        return self._state is not None

    def show(self, views: Sequence[tuple]) -> None:
        """Only the views' layers visible, one titled view each, the first at the top left."""
        viewer = self.viewer
        grid = viewer.canvas.grid
        if self._state is None:
            selection = viewer.layers.selection
            self._state = {
                "visible": [(layer, layer.visible) for layer in viewer.layers],
                "order": list(viewer.layers),
                "grid": (grid.enabled, grid.stride, tuple(grid.shape), grid.spacing),
                "selection": (list(selection), selection.active),
            }
        self._set_titles(views)
        chosen = [layer for layer, _, _ in views]
        shown = [*chosen, *self.titles]
        for layer in viewer.layers:
            layer.visible = any(layer == other for other in shown)
        # top of the layer list: A's title, A, B's title, B, ...; a stride of -2 fills
        # the views from the top, two layers each
        for layer, title in reversed(list(zip(chosen, self.titles))):
            _move(viewer.layers, layer, len(viewer.layers) - 1)
            _move(viewer.layers, title, len(viewer.layers) - 1)
        grid.stride = -2
        grid.shape = (1, len(chosen)) if len(chosen) <= 3 else (-1, -1)
        grid.spacing = GRID_SPACING
        grid.enabled = True

    def end(self) -> None:
        """Remove the titles; put back visibility, order, selection and grid (layers added since: shown, on top)."""
        state, self._state = self._state, None
        if state is None:
            return
        viewer = self.viewer
        self._remove_titles(len(self.titles))
        before = [layer for layer, _ in state["visible"]]
        for layer in viewer.layers:  # layers added since were hidden by the grid: show them
            if not any(layer == other for other in before):
                layer.visible = True
        for layer, visible in state["visible"]:
            if layer in viewer.layers:
                layer.visible = visible
        target = [ly for ly in state["order"] if ly in viewer.layers]
        target += [ly for ly in viewer.layers if ly not in target]
        for i, layer in enumerate(target):
            _move(viewer.layers, layer, i)
        enabled, stride, shape, spacing = state["grid"]
        grid = viewer.canvas.grid
        grid.stride, grid.shape, grid.spacing, grid.enabled = stride, shape, spacing, enabled
        self._restore_selection(*state["selection"])

    # ------------------------------------------------------------------ titles
    def _set_titles(self, views: Sequence[tuple]) -> None:
        """One title layer per view, placed like its layer, reused when there is one."""
        viewer = self.viewer
        self.titles = [t for t in self.titles if t in viewer.layers]
        if any(t.ndim != layer.ndim for t, (layer, _, _) in zip(self.titles, views)):
            self._remove_titles(len(self.titles))  # a Points layer keeps its number of dimensions
        self._remove_titles(max(len(self.titles) - len(views), 0))
        selection = (list(viewer.layers.selection), viewer.layers.selection.active)
        added = len(self.titles) < len(views)
        for i, (layer, text, colour) in enumerate(views):
            if i == len(self.titles):
                viewer.add_layer(Points(ndim=layer.ndim, name=text, metadata={METADATA_KEY: {"kind": TITLE_KIND}}))
                self.titles.append(viewer.layers[-1])  # (the viewer's handle on it)
            title = self.titles[i]
            if title.name != text:
                title.name = text
            title.scale, title.translate = layer.scale, layer.translate
            overlay = title.name_overlay
            overlay.color = colour
            overlay.font_size = TITLE_FONT_SIZE
            overlay.box = True
            overlay.visible = True
        if added:
            self._restore_selection(*selection)

    def _remove_titles(self, n: int) -> None:
        for _ in range(n):
            title = self.titles.pop()
            if title in self.viewer.layers:
                self.viewer.layers.remove(title)

    def _restore_selection(self, selected: list, active) -> None:
        selection = self.viewer.layers.selection
        selection.clear()
        selection.update([ly for ly in selected if ly in self.viewer.layers])
        if active is not None and active in self.viewer.layers:
            selection.active = active


def _move(layers, layer, index: int) -> None:
    """Move ``layer`` to position ``index`` of the layer list (0 is the bottom)."""
    # (== rather than `is`: plugins get the viewer behind napari's public-only proxy)
    current = next(i for i, ly in enumerate(layers) if ly == layer)
    if current != index:
        layers.move(current, index if index < current else index + 1)

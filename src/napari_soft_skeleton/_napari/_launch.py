"""Open napari on a sample with every widget of the plugin docked."""

from __future__ import annotations

PLUGIN = "napari-soft-skeleton"
WIDGETS = ("Soft skeleton", "Reference skeleton", "Compare skeletons", "Skeleton graph", "Iteration explorer")


def open_viewer(sample: str = "vessel_256", *, show: bool = True, run: bool = True):
    """A viewer with ``sample`` opened (File ▸ Open Sample) and the widgets docked."""
    import napari
    from qtpy.QtCore import QTimer

    viewer = napari.Viewer(show=show, title=f"napari-soft-skeleton: {sample}")
    viewer.open_sample(PLUGIN, sample)
    for layer in viewer.layers:  # the widgets start on the selected layer: the image, else the mask
        layer.visible = not layer.name.endswith("centerline")
    start = [ly for ly in viewer.layers if ly.name.endswith(" image")] or [viewer.layers[f"{sample} mask"]]
    viewer.layers.selection.active = start[0]
    widgets, docks = {}, {}
    for name in WIDGETS:
        docks[name], widgets[name] = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=name != WIDGETS[0])
    QTimer.singleShot(0, docks[WIDGETS[0]].raise_)  # once Qt has laid out the tabs
    if viewer.dims.ndim >= 3:
        viewer.dims.ndisplay = 3
    if run:
        napari.run()
    return viewer, widgets

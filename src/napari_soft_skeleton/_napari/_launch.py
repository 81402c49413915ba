"""Open napari on a sample with every widget of the plugin docked."""

from __future__ import annotations

PLUGIN = "napari-soft-skeleton"
WIDGETS = ("Soft skeleton", "Reference skeleton", "Compare skeletons", "Iteration explorer")


def open_viewer(sample: str = "vessel_256", *, show: bool = True, run: bool = True):
    """A viewer with ``sample`` opened (File ▸ Open Sample) and the widgets docked."""
    import napari

    viewer = napari.Viewer(show=show, title=f"napari-soft-skeleton: {sample}")
    viewer.open_sample(PLUGIN, sample)
    widgets = {}
    for name in WIDGETS:
        _, widgets[name] = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=name != WIDGETS[0])
    if viewer.dims.ndim >= 3:
        viewer.dims.ndisplay = 3
    if run:
        napari.run()
    return viewer, widgets

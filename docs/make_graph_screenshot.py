"""Make the README's screenshot of the "Skeleton graph" widget on the 256³ vessel sample.

docs/graph_widget.png: the vessel mask's topological skeleton as a graph in
3D — branches as tubes coloured by their mean radius (from the mask),
junctions white, end points black with a white rim — after pruning terminal branches shorter
than 5 µm, with the widget docked: its status line, the colour key and the
row of a selected branch.

The script prints how long the graph layers took to add and to update after
the prune (GUI thread), and the whole build (skeleton + graph, background).

Run:  xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_graph_screenshot.py
"""

import sys
import time
from pathlib import Path

import napari
import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from make_screenshot import close_toasts  # (this folder: run as a script)
from napari_soft_skeleton._napari import _graph_layers

OUT = Path(__file__).with_name("graph_widget.png")
SAMPLE = "vessel_256"
PRUNE = 5.0  # µm


def wait(widget, timeout=600):
    app = QApplication.instance()
    t0 = time.perf_counter()
    while widget.busy:
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.01)
    app.processEvents()


def timing(cls, name, times):
    """Record how long ``cls.name`` takes (the GUI-thread layer work)."""
    original = getattr(cls, name)

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        result = original(*args, **kwargs)
        times[name] = time.perf_counter() - t0
        return result

    setattr(cls, name, timed)


def main():
    times = {}
    timing(_graph_layers.GraphLayers, "show", times)
    timing(_graph_layers.GraphLayers, "update", times)
    viewer = napari.Viewer(show=True, title="napari-soft-skeleton")
    viewer.window._qt_window.resize(1600, 1000)
    viewer.open_sample("napari-soft-skeleton", SAMPLE)
    mask = viewer.layers[f"{SAMPLE} mask"]
    for layer in viewer.layers:  # only the graph in the picture
        layer.visible = False
    viewer.dims.ndisplay = 3
    dock, widget = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Skeleton graph")
    viewer.window._qt_window.resizeDocks([dock], [430], Qt.Orientation.Horizontal)
    widget.layer.value = mask
    assert widget.method.value == "topological" and widget.mask.value == mask, "defaults changed"
    t0 = time.perf_counter()
    widget.run()
    wait(widget)
    build = time.perf_counter() - t0
    branches = widget.layers[0]
    n_built = branches.nshapes
    assert widget.colour_by.value == "radius_mean", widget.colour_by.value
    widget.set_prune(PRUNE)
    wait(widget)
    print(f"{SAMPLE}: {n_built} branches; build {build:.2f} s (layers added in {times['show']:.2f} s); "
          f"prune < {PRUNE:g} µm -> {branches.nshapes} branches, layers updated in {times['update']:.2f} s")
    # a thick, long branch selected: its row in the widget's table
    features = branches.features
    score = features["radius_mean"].to_numpy() * np.sqrt(features["length"].to_numpy())
    widget.layers[0].selected_data = {int(np.argmax(score))}
    viewer.layers.selection.active = branches
    viewer.reset_view()
    viewer.camera.angles = (-20, 35, 65)
    viewer.camera.zoom *= 0.92
    close_toasts(viewer)
    viewer.screenshot(path=str(OUT), canvas_only=False)
    print(f"wrote {OUT}")
    viewer.close()


if __name__ == "__main__":
    sys.exit(main())

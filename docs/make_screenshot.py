"""Make the README's screenshots of the real viewer on the 256³ vessel sample.

* docs/napari_vessel_256.png: 3D, the compare widget's difference layer of the
  soft skeleton (B) against Lee's (A) over the faint mask, the compare dock and
  its per-slice plot open;
* docs/napari_side_by_side.png: Lee's (A), the soft (B) and the topological (C)
  skeleton side by side in napari's grid, each view titled, the compare widget
  with both columns.

The compare widget picks A, B and C by itself (Lee's skeleton against the soft
and topological ones); the script checks that it did.

Run:  xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshot.py [--side-by-side]
"""

import sys
import time
from pathlib import Path

import napari
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QWidget

OUT = Path(__file__).with_name("napari_vessel_256.png")
OUT_SIDE = Path(__file__).with_name("napari_side_by_side.png")
MASK = "vessel_256 mask"


def wait(*widgets, timeout=300):
    app = QApplication.instance()
    t0 = time.perf_counter()
    while any(w.job.running for w in widgets):
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.01)
    app.processEvents()


def close_toasts(viewer):
    """Close the notification pop-ups, which would cover the canvas."""
    for widget in viewer.window._qt_window.findChildren(QWidget):
        if type(widget).__name__ == "NapariQtNotification":
            widget.close()
    QApplication.instance().processEvents()


def setup(methods=("lee",)):
    """The viewer on the 256³ vessel sample, soft and reference skeletons of the mask, the compare widget docked."""
    viewer = napari.Viewer(show=True, title="napari-soft-skeleton")
    viewer.window._qt_window.resize(1600, 1000)
    viewer.open_sample("napari-soft-skeleton", "vessel_256")
    mask = viewer.layers[MASK]
    _, soft = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Soft skeleton")
    _, ref = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Reference skeleton", tabify=True)
    dock, cmp_ = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Compare skeletons", tabify=True)
    # room for the layer names in the pickers and two value columns
    viewer.window._qt_window.resizeDocks([dock], [470], Qt.Orientation.Horizontal)
    soft.layer.value = mask
    soft.run()
    wait(soft)
    for method in methods:
        ref.layer.value, ref.method.value = mask, method
        ref.run()
        wait(ref)
    viewer.layers["vessel_256 image"].visible = False
    return viewer, mask, cmp_


def check_picks(cmp_, *methods):
    picked = [cmp_.reference.value, cmp_.candidate.value, cmp_.second.value][: len(methods)]
    names = [None if layer is None else layer.name for layer in picked]
    assert all(name is not None and method in name for name, method in zip(names, methods)), names


def main():
    viewer, mask, cmp_ = setup()
    check_picks(cmp_, "lee", "soft")
    cmp_.run()
    wait(cmp_)
    for layer in viewer.layers:  # the difference layer over the faint mask
        layer.visible = layer == cmp_.difference_layer or layer == mask
    mask.opacity = 0.2
    viewer.layers.selection.active = cmp_.difference_layer
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (-10, 30, 75)
    close_toasts(viewer)
    viewer.screenshot(path=str(OUT), canvas_only=False)
    print(f"wrote {OUT}")
    viewer.close()


def side_by_side():
    viewer, _, cmp_ = setup(("topological", "lee"))
    check_picks(cmp_, "lee", "soft", "topological")
    cmp_.run()
    wait(cmp_)
    cmp_.side_by_side.setChecked(True)
    viewer.layers.selection.active = cmp_.reference.value
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (0, 0, 90)  # looking down z, like a maximum projection
    close_toasts(viewer)
    viewer.screenshot(path=str(OUT_SIDE), canvas_only=False)
    print(f"wrote {OUT_SIDE}")
    viewer.close()


if __name__ == "__main__":
    sys.exit(side_by_side() if "--side-by-side" in sys.argv else main())

"""Make the README's screenshots of the real viewer on the 256³ vessel sample.

* docs/napari_vessel_256.png: 3D, soft and Lee skeletons, compare dock open;
* docs/napari_side_by_side.png: Lee's (A), the soft (B) and the topological (C)
  skeleton side by side in napari's grid, the compare widget with both columns.

Run:  xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshot.py [--side-by-side]
"""

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

OUT = Path(__file__).with_name("napari_vessel_256.png")
OUT_SIDE = Path(__file__).with_name("napari_side_by_side.png")


def wait(*widgets, timeout=300):
    app = QApplication.instance()
    t0 = time.perf_counter()
    while any(w.job.running for w in widgets):
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.01)
    app.processEvents()


def setup():
    """The viewer on the 256³ vessel sample, the soft, reference and compare widgets docked and run on the mask."""
    viewer = napari.Viewer(show=True, title="napari-soft-skeleton")
    viewer.window._qt_window.resize(1600, 1000)
    viewer.open_sample("napari-soft-skeleton", "vessel_256")
    mask = viewer.layers["vessel_256 mask"]
    _, soft = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Soft skeleton")
    _, ref = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Reference skeleton", tabify=True)
    _, cmp_ = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Compare skeletons", tabify=True)
    soft.layer.value = mask
    ref.layer.value = mask
    soft.run()
    ref.run()
    wait(soft, ref)
    return viewer, mask, ref, cmp_


def main():
    viewer, mask, _, cmp_ = setup()
    viewer.layers["vessel_256 image"].visible = False
    cmp_.reference.value = viewer.layers["vessel_256 mask lee skeleton"]
    cmp_.candidate.value = viewer.layers["vessel_256 mask soft skeleton (k=10)"]
    cmp_.run()
    wait(cmp_)
    viewer.layers[cmp_.difference_layer.name].visible = False
    mask.opacity = 0.15
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (-10, 30, 75)
    QApplication.instance().processEvents()
    viewer.screenshot(path=str(OUT), canvas_only=False)
    print(f"wrote {OUT}")
    viewer.close()


def side_by_side():
    viewer, _, ref, cmp_ = setup()
    ref.method.value = "topological"
    ref.run()
    wait(ref)
    cmp_.reference.value = viewer.layers["vessel_256 mask lee skeleton"]
    cmp_.candidate.value = viewer.layers["vessel_256 mask soft skeleton (k=10)"]
    cmp_.second.value = viewer.layers["vessel_256 mask topological skeleton"]
    cmp_.run()
    wait(cmp_)
    cmp_.side_by_side.setChecked(True)
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (0, 0, 90)  # looking down z, like a maximum projection
    QApplication.instance().processEvents()
    viewer.screenshot(path=str(OUT_SIDE), canvas_only=False)
    print(f"wrote {OUT_SIDE}")
    viewer.close()


if __name__ == "__main__":
    sys.exit(side_by_side() if "--side-by-side" in sys.argv else main())

"""Make docs/napari_vessel_256.png: the real viewer, 3D, soft and Lee skeletons, compare dock open.

Run:  xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshot.py
"""

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

OUT = Path(__file__).with_name("napari_vessel_256.png")


def wait(*widgets, timeout=300):
    app = QApplication.instance()
    t0 = time.perf_counter()
    while any(w.job.running for w in widgets):
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.01)
    app.processEvents()


def main():
    viewer = napari.Viewer(show=True, title="napari-soft-skeleton")
    viewer.window._qt_window.resize(1600, 1000)
    viewer.open_sample("napari-soft-skeleton", "vessel_256")
    mask = viewer.layers["vessel_256 mask"]
    viewer.layers["vessel_256 image"].visible = False
    _, soft = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Soft skeleton")
    _, ref = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Reference skeleton", tabify=True)
    _, cmp_ = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Compare skeletons", tabify=True)
    soft.layer.value = mask
    ref.layer.value = mask
    soft.run()
    ref.run()
    wait(soft, ref)
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


if __name__ == "__main__":
    sys.exit(main())

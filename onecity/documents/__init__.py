"""Reading uploaded documents: a generated corpus with ground truth, OCR, extraction, cross-checks, rules.

The pieces, in the order an upload meets them:

* :mod:`.corpus` — realistic scans of licences, ID cards, certificates, invoices and letters drawn
  from the hub's registries, degraded and forged on purpose, each with its ground truth;
* :mod:`.ocr` — the OCR engine interface (:class:`~.ocr.OcrEngine`), the rapidocr adapter, the
  content-hash cache and the worker pool that keeps OCR off the request path;
* :mod:`.extract` — type detection and per-type field extraction with confidence and region,
  identifiers checked by their check characters (flagged, never corrected);
* :mod:`.crosscheck` — findings against the form, the registries, the certificate registry and
  between fields;
* :mod:`.rules` — DMN decision tables run by SpiffWorkflow.
"""

"""HTML report (one offline, self-contained file) and PNG charts of a run directory.

- :func:`write_report` -- ``RUN_DIR/report.html``
- :func:`write_pngs` -- one PNG per chart, rendered by a headless chromium
- :func:`report_figures` -- the Plotly figures, for notebooks
- :func:`compare` -- runs side by side (tables and an offline comparison page)
- :func:`assumptions_summary`, :func:`assumptions_footer` -- what a run assumed (report section, CLI footer)
"""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "write_report": "blocsim.report.html",
    "render_report": "blocsim.report.html",
    "load_run": "blocsim.report.tables",
    "report_figures": "blocsim.report.figures",
    "signed_pct": "blocsim.report.figures",
    "write_pngs": "blocsim.report.png",
    "compare": "blocsim.report.compare_page",
    "assumptions_summary": "blocsim.report.assumptions",
    "assumptions_footer": "blocsim.report.assumptions",
    "COMPARE_PAGE_NAME": "blocsim.report.compare_page",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)

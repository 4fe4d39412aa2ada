"""The xlwings layer: worksheet functions (udfs), one-click macros, and the xlwings Lite bundle."""

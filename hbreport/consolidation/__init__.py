"""Consolidation: children's workbooks read in parallel, checked, summed and written as the parent's workbook."""

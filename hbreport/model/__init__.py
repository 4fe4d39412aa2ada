"""The model in the middle: data values with status and provenance, the Dataset, the consolidation
Summary. Nothing here knows about Excel or Word."""

from .dataset import Dataset, DataValue
from .summary import Summary

__all__ = ["DataValue", "Dataset", "Summary"]

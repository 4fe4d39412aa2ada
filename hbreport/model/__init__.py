"""The model in the middle: data values with status and provenance, the Dataset, the consolidation
Summary. Nothing here knows about Excel or Word."""

from hbreport.model.dataset import Dataset, DataValue
from hbreport.model.summary import Summary

__all__ = ["DataValue", "Dataset", "Summary"]

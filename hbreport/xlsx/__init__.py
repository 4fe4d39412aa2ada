"""Reading and writing .xlsx: the safety gate, the grid reader, the writer, cell layout and annotation."""

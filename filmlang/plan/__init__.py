"""Planning: the checked film to a graph of render jobs keyed by content."""

"""The knowledge base: spaces, articles, versions, search."""

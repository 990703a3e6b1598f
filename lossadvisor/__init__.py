"""lossadvisor: which CrossEncoder loss fits your data, and proof that it trains."""

__version__ = "0.1.0"

"""The client version, also sent as User-Agent: wattprint-python/<version>."""

__version__ = "0.1.0"

"""sluis: authorisation-driven provisioning of pseudonymised social-security research data."""

__version__ = "0.1.0"

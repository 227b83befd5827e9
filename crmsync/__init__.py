"""crmsync: keep one canonical lead/deal store in sync with every CRM, payment and contact-center system."""

__version__ = "0.1.0"

"""Reference data shipped with sluis (S3): code lists, municipalities, countries, calibration
figures, and the INSZ number rules. Copied from ``shared/domain`` and kept in sync by a test;
never read from outside the package at run time."""

"""The ``sluis`` command line (X4): thin verbs that call a stage and render its result."""

"""The enclave: phase 2 of an authorisation whose data never leave the provider (A5, B11,
G10). Researchers' jobs run in a sandbox on a read-only copy of the phase-2 extract laid
out like the phase-1 package; their outputs are checked, reviewed by two supervisors and
only then released.

Modules: :mod:`~sluis.enclave.workspace` (the enclave's folders and its data),
:mod:`~sluis.enclave.sandbox` (bubblewrap and the limits), :mod:`~sluis.enclave.jobs`
(submission, runs, their records), ``checks`` (automatic output checks), ``researcher``
(the helper library jobs import), ``review`` and ``release``.
"""

"""Every read of the workflow that more than one caller needs (docs/architecture.md):

- ``visibility`` — what a person may see (instances, tasks), names for display;
- ``actions`` — what a person may do on a task or an instance now;
- ``inbox`` — the inbox's tabs, filters, keyset pages and counts;
- ``timeline`` — where an instance stands and what it passed;
- ``catalogue`` — the processes a person may start, their drafts;
- ``statistics`` — the console's figures.
"""

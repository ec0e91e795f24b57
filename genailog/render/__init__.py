"""Renderers of command results for CI: JUnit XML, GitHub workflow commands, markdown.

Every function here is a pure function of a result's dict (the ``--format json``
contract in ``schemas/``), so a report written from a saved JSON file says the same as
the run that made it. Nothing here reads logs, computes a statistic or writes a file; the
CLI (``genailog.cli.render``) decides where the text goes. User text reaches XML, Markdown
and workflow commands only through the escaping of the module that writes that format.
"""

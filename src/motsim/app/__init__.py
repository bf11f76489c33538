"""`motsim app`: the what-if in a browser, for the strategist and the CFO (the optional extra `motsim[app]`).

A Streamlit page (`page.py`) over the verbs: it parses what a person sets, calls `motsim.compare`,
`rank`, `roi`, `report`, the fits and the A/B analysis, and presents their answers — every
number on the page is one the library gives for the same question and seed. `motsim app` serves
it on 127.0.0.1, offline, with the framework's usage statistics off.
"""

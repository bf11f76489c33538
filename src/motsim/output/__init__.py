"""The output room: results as people and programs read them.

- `formats`: JSON and CSV, rich tables for the terminal, files written atomically as a set;
- `files`: the sets of files each command writes with `--out`;
- `charts`: matplotlib charts (PNG and SVG);
- `report`: the self-contained HTML page for a finance reader;
- `watching`: a progress bar for the Python verbs (`with motsim.progress(): ...`).
"""

"""The model room: the scenario language and the pure laws, with their closed forms.

- `scenario`: the schema (pydantic) of a scenario file — segments, moments, teams, interventions;
- `source`: where scenarios come from (bundled names, files, TOML) and how problems are worded;
- `loading`: file → validated `Scenario`, every problem with its file, field and line;
- `changes`: dotted-path edits (`moments.onboarding.outcomes.good.p = 0.85`), a sample of the business;
- `uncertainty`: uncertain inputs — distributions, their bounds, Latin-hypercube draws;
- `words`: dotted paths in readable words;
- the laws: `memory` (peak-end), `recovery` (the paradox), `churn`, `word_of_mouth`, `economics`,
  `queueing` (Erlang C), `units`.
"""

-- Report settings kept with the study (issue 7): the researcher's quote pins
-- and exclusions. A rule names its answer by key (participant/segment/question)
-- and its theme by code path; `theme` = '' means every theme (exclusions only).
CREATE TABLE quote_rules (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('pin', 'exclude')),
    theme       TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    UNIQUE (study_id, kind, theme, response)
);

"""Employment by years since arrival and by naturalisation (decision 25/074, §4).

Runs unchanged on the phase-1 package (SLUIS_DATA=<package>/data) and in the enclave
(SLUIS_DATA=/data): both have the same files, columns and codes.
"""

import duckdb
import sluis_output as so

data = so.data_dir()
persons = f"{data}/parquet/person.parquet"
panel = f"{data}/parquet/panel.parquet"

# one row per person: the last quarter the panel observes them in
last = f"""
    SELECT p.person_seq, p.first_registration_yq, p.first_nationality,
           q.quarter, q.nationality, q.jobs_total
    FROM '{panel}' q JOIN '{persons}' p USING (person_seq)
    QUALIFY row_number() OVER (PARTITION BY p.person_seq ORDER BY q.quarter DESC) = 1
"""
people = duckdb.sql(f"""
    SELECT CASE
             WHEN years < 5 THEN '0-4'
             WHEN years < 10 THEN '5-9'
             ELSE '10+'
           END AS years_since_arrival,
           CASE WHEN naturalised THEN 'yes' ELSE 'no' END AS naturalised,
           CASE WHEN employed THEN 'yes' ELSE 'no' END AS employed
    FROM (
        SELECT CAST(left(quarter, 4) AS INTEGER)
                 - CAST(left(first_registration_yq, 4) AS INTEGER) AS years,
               nationality = '01' AND first_nationality <> '01' AS naturalised,  -- 01: Belgium
               coalesce(jobs_total, 0) > 0 AS employed
        FROM ({last})
        WHERE first_registration_yq IS NOT NULL
    )
""")
# two tables, one per question: crossing both would leave cells of a handful of persons
for by in ("years_since_arrival", "naturalised"):
    cells = duckdb.sql(
        f"SELECT {by}, employed, count(*) AS n FROM people GROUP BY ALL ORDER BY ALL"
    )
    path = so.table(cells, f"employment_by_{by}", kind="count", count="n")
    print(f"wrote {path.name}")
